#include "harness/runner/merge.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/runner/results_file.h"

namespace claa {

int64_t merge_shards(const std::vector<std::string>& dirs, const std::string& out, const MergeOptions& options) {
  require(!dirs.empty(), "merge: give the shard folders to join");
  std::map<int64_t, nlohmann::json> by_index;
  std::map<std::string, std::string> seen;
  for (const std::string& d : dirs) {
    for (nlohmann::json& rec : read_records(d + "/samples.jsonl")) {
      std::string id = rec.value("id", "");
      // Checked before the message is built: an argument list may evaluate seen[id] (which
      // inserts the id) before the condition.
      if (const auto it = seen.find(id); it != seen.end())
        throw Error("merge: sample " + id + " appears in both " + it->second + " and " + d);
      seen.emplace(id, d);
      // The index first: json's operator= takes its argument by value, and C++17 evaluates the
      // right side (moving rec out) before the left.
      const int64_t index = rec.value("index", static_cast<int64_t>(by_index.size()));
      by_index[index] = std::move(rec);
    }
  }
  std::filesystem::create_directories(out);
  std::string path = out + "/samples.jsonl";
  require(options.replace || !std::filesystem::exists(path), path + " already exists: merge into a new folder");
  {
    std::ofstream f(path + ".tmp");
    for (const auto& [_, rec] : by_index) f << rec.dump() << "\n";
    f.flush();
    require(f.good(), path + ".tmp: write failed");
  }
  std::filesystem::rename(path + ".tmp", path);
  // Each shard's timings.jsonl (per-sample prefill/decode seconds, which the report averages).
  std::string timings;
  for (const std::string& d : dirs) {
    std::ifstream in(d + "/timings.jsonl");
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line.back() == '}') timings += line + "\n";  // a torn last line is dropped
  }
  if (!timings.empty()) {
    std::ofstream f(out + "/timings.jsonl.tmp");
    f << timings;
    f.flush();
    require(f.good(), out + "/timings.jsonl.tmp: write failed");
    f.close();
    std::filesystem::rename(out + "/timings.jsonl.tmp", out + "/timings.jsonl");
  }
  std::filesystem::copy_file(dirs.front() + "/run.json", out + "/run.json",
                             std::filesystem::copy_options::overwrite_existing);
  return static_cast<int64_t>(by_index.size());
}

}  // namespace claa
