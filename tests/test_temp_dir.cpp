// The tests' own rm -rf (tests/temp_dir.h), which every report and runner test relies on to clean up.
#include <fstream>

#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace fs = std::filesystem;

TEST_CASE("remove_tree removes nested folders and files and tolerates a missing path", "[tests]") {
  const fs::path root = claa::test::fresh_temp_path("remove_tree");
  CHECK(!fs::exists(root));
  fs::create_directories(root / "a" / "b");
  std::ofstream(root / "top.txt") << "x";
  std::ofstream(root / "a" / "b" / "deep.txt") << "y";
  fs::create_symlink(root / "top.txt", root / "a" / "link");
  claa::test::remove_tree(root);
  CHECK(!fs::exists(root));
  claa::test::remove_tree(root);  // already gone: nothing happens
  CHECK(!fs::exists(root));
}

TEST_CASE("TempDir is created empty and removed with its contents", "[tests]") {
  fs::path kept;
  {
    claa::test::TempDir dir("lifetime");
    kept = dir.path;
    CHECK(fs::is_directory(dir.path));
    CHECK(fs::is_empty(dir.path));
    fs::create_directories(dir.path / "plots");
    std::ofstream(dir.path / "plots" / "a.gp") << "plot x";
  }
  CHECK(!fs::exists(kept));
}
