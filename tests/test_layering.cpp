// The layering rule (layers.txt at the repository root): each top-level folder of the product may
// include its own files and those of the folders its line names, all of which stand above it in the
// table, so the tree reads bottom-up and no include runs up or sideways. This test reads every
// `#include "..."` of every folder in the table and fails naming the file and line of each include
// that breaks the rule. Includes of paths outside the table's folders (system and generated headers,
// FlashAttention's sources) are not the rule's business.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

struct LayerTable {
  std::vector<std::string> order;                        // bottom first
  std::map<std::string, std::set<std::string>> allowed;  // folder → the folders it may include
};

// "folder: below below ..." lines; '#' starts a comment. Every folder a line names must have its own
// line above it, so the table is a bottom-up order and cannot hold a cycle.
LayerTable read_layers(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  LayerTable t;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    const size_t colon = line.find(':');
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    if (colon == std::string::npos) throw std::runtime_error(where + "expected 'folder: folders it may include'");
    std::istringstream head(line.substr(0, colon)), rest(line.substr(colon + 1));
    std::string folder, below;
    head >> folder;
    if (folder.empty() || t.allowed.count(folder)) throw std::runtime_error(where + "missing or repeated folder");
    std::set<std::string>& allowed = t.allowed[folder];
    while (rest >> below) {
      if (!t.allowed.count(below) || below == folder)
        throw std::runtime_error(where + "'" + folder + "' may include only folders listed above it, not '" + below +
                                 "'");
      allowed.insert(below);
    }
    t.order.push_back(folder);
  }
  return t;
}

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".h" || e == ".cpp" || e == ".cu" || e == ".cuh";
}

// Every include under `root` that breaks the table: "FILE:LINE: includes "X" (F may include only ...)".
std::vector<std::string> layering_violations(const fs::path& root, const LayerTable& t) {
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<std::string> out;
  for (const std::string& folder : t.order) {
    if (!fs::is_directory(root / folder)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder))
      if (entry.is_regular_file() && is_source(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    const std::set<std::string>& allowed = t.allowed.at(folder);
    for (const fs::path& file : files) {
      std::ifstream in(file);
      std::string line;
      std::smatch m;
      for (int number = 1; std::getline(in, line); ++number) {
        if (!std::regex_search(line, m, include_line)) continue;
        const std::string target = m[1].str(), top = target.substr(0, target.find('/'));
        if (target.find('/') == std::string::npos || top == folder || !t.allowed.count(top) || allowed.count(top))
          continue;
        std::string may;
        for (const std::string& a : allowed) may += (may.empty() ? "" : " ") + a;
        out.push_back(fs::relative(file, root).string() + ":" + std::to_string(number) + ": includes \"" + target +
                      "\" (" + folder + "/ may include only: " + (may.empty() ? "nothing" : may) + ")");
      }
    }
  }
  return out;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("No include runs up or sideways against layers.txt", "[layering]") {
  const LayerTable table = read_layers(source_path("layers.txt"));
  for (const char* folder : {"core", "model", "capture", "oracle", "heuristics", "evaluation", "reports", "harness"})
    CHECK(table.allowed.count(folder) == 1);
  const std::vector<std::string> violations = layering_violations(source_path(""), table);
  for (const std::string& v : violations) UNSCOPED_INFO(v);
  CHECK(violations.empty());
}

TEST_CASE("The layering check names the file and line of an upward include", "[layering]") {
  claa::test::TempDir dir("layering");
  write(dir.path / "layers.txt", "# a scratch house\nbase:\nmiddle: base\ntop: base middle\n");
  write(dir.path / "base/util.h", "#pragma once\n");
  write(dir.path / "middle/stage.h", "#pragma once\n#include \"base/util.h\"\n#include <vector>\n");
  write(dir.path / "top/driver.cpp", "#include \"middle/stage.h\"\n#include \"generated/info.h\"\n");
  const LayerTable table = read_layers(dir.path / "layers.txt");
  CHECK(layering_violations(dir.path, table).empty());

  write(dir.path / "base/util.cpp", "#include \"base/util.h\"\n\n  #  include \"top/driver.h\"\n");  // runs up
  write(dir.path / "middle/other.h", "#include \"middle/stage.h\"\n");
  const std::vector<std::string> found = layering_violations(dir.path, table);
  REQUIRE(found.size() == 1);
  CHECK(found[0] == "base/util.cpp:3: includes \"top/driver.h\" (base/ may include only: nothing)");

  write(dir.path / "sideways.txt", "base:\nleft: base\nright: base left_typo\n");
  CHECK_THROWS_WITH(read_layers(dir.path / "sideways.txt"), Catch::Contains("not 'left_typo'"));
  write(dir.path / "cycle.txt", "a: b\nb: a\n");
  CHECK_THROWS_WITH(read_layers(dir.path / "cycle.txt"), Catch::Contains("listed above it, not 'b'"));
}
