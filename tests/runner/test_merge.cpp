// Joining shard folders (claa merge, and rank 0 of an MPI run): each sample once, in run order;
// a sample in two shards is refused; an existing result is replaced only when asked.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "harness/runner/merge.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string shard(const std::string& root, const std::string& name, const std::vector<int>& indices) {
  const std::string dir = root + "/" + name;
  fs::create_directories(dir);
  std::ofstream f(dir + "/samples.jsonl");
  for (int i : indices) f << "{\"id\": \"s" << i << "\", \"index\": " << i << "}\n";
  std::ofstream(dir + "/run.json") << "{\"shard\": \"" << name << "\"}\n";
  std::ofstream t(dir + "/timings.jsonl");
  for (int i : indices) t << "{\"id\": \"s" << i << "\"}\n";
  return dir;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("merge joins shards in run order, each sample once", "[runner][merge]") {
  const std::string root = claa::test::fresh_temp_path("merge").string();
  const std::string a = shard(root, "a", {0, 2, 4}), b = shard(root, "b", {1, 3});
  CHECK(claa::merge_shards({a, b}, root + "/out") == 5);
  std::string expected;
  for (int i = 0; i < 5; ++i) expected += "{\"id\":\"s" + std::to_string(i) + "\",\"index\":" + std::to_string(i) + "}\n";
  CHECK(read_all(root + "/out/samples.jsonl") == expected);
  CHECK(read_all(root + "/out/run.json") == read_all(a + "/run.json"));
  CHECK(read_all(root + "/out/timings.jsonl") == read_all(a + "/timings.jsonl") + read_all(b + "/timings.jsonl"));

  CHECK_THROWS_WITH(claa::merge_shards({a, b}, root + "/out"), Catch::Contains("already exists"));
  claa::MergeOptions replace;
  replace.replace = true;
  CHECK(claa::merge_shards({b, a}, root + "/out", replace) == 5);
  CHECK(read_all(root + "/out/samples.jsonl") == expected);

  const std::string c = shard(root, "c", {3});
  CHECK_THROWS_WITH(claa::merge_shards({a, b, c}, root + "/out2"), Catch::Contains("sample s3 appears in both " + b + " and " + c));
  claa::test::remove_tree(root);
}
