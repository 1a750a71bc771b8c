// `claa run CONFIG.json` (the main job) and `claa merge DIR...` (join shard outputs).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "harness/cli/commands.h"
#include "harness/runner/results_file.h"
#include "harness/runner/runner.h"
#include "harness/util/error.h"
#include "reports/run_reports.h"

namespace claa {

namespace {

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string out, shard;
  bool resume = false, no_report = false;
  int64_t limit = 0;
};

void run(const RunArgs& a) {
  RunConfig config = load_run_config(a.config, a.overrides);  // validates before any model loads
  RunOptions options;
  options.out = a.out;
  options.resume = a.resume;
  options.limit = a.limit;
  options.reports = !a.no_report;
  if (!a.shard.empty()) parse_shard(a.shard, options);
  std::string dir = run_experiment(config, options);
  fmt::print("results: {}/samples.jsonl\n", dir);
  if (options.reports) fmt::print("report:  {}/report.md and {}/report.html\n", dir, dir);
}

// Concatenate shard results (each sample once, in run order) into OUT and write the reports.
void merge(const std::vector<std::string>& dirs, const std::string& out) {
  require(!dirs.empty(), "merge: give the shard folders to join");
  std::map<int64_t, nlohmann::json> by_index;
  std::map<std::string, std::string> seen;
  for (const std::string& d : dirs) {
    for (nlohmann::json& rec : read_records(d + "/samples.jsonl")) {
      const std::string id = rec.value("id", "");
      // emplace, not seen[id] in the message: that inserted the id before the test (every merge failed).
      auto [first, fresh] = seen.emplace(id, d);
      require(fresh, "merge: sample " + id + " appears in both " + first->second + " and " + d);
      // The index first: json's by-value operator= moves `rec` before the left side is evaluated.
      const int64_t index = rec.value("index", static_cast<int64_t>(by_index.size()));
      by_index[index] = std::move(rec);
    }
  }
  std::filesystem::create_directories(out);
  std::string path = out + "/samples.jsonl";
  require(!std::filesystem::exists(path), path + " already exists: merge into a new folder");
  {
    std::ofstream f(path + ".tmp");
    for (const auto& [_, rec] : by_index) f << rec.dump() << "\n";
  }
  std::filesystem::rename(path + ".tmp", path);
  std::filesystem::copy_file(dirs.front() + "/run.json", out + "/run.json",
                             std::filesystem::copy_options::overwrite_existing);
  write_run_reports(out);
  fmt::print("merged {} samples from {} folders into {}\n", by_index.size(), dirs.size(), out);
}

}  // namespace

void register_run_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "run an experiment config: oracle vs heuristics per layer, reports");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("config", a->config, "experiment config (JSON)")->required();
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  cmd->add_option("--out,-o", a->out, "output folder (default: the config's \"output\")");
  cmd->add_flag("--resume", a->resume, "continue a run: skip samples already in samples.jsonl");
  cmd->add_option("--shard", a->shard, "run only shard i of n (i/n); join with claa merge");
  cmd->add_option("--limit", a->limit, "at most K samples");
  cmd->add_flag("--no-report", a->no_report, "skip writing reports at the end");
  cmd->callback([a] { run(*a); });

  auto* m = app.add_subcommand("merge", "join the samples of shard folders and write reports");
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  m->add_option("dirs", *dirs, "shard output folders")->required();
  m->add_option("--out,-o", *out, "merged output folder")->required();
  m->callback([dirs, out] { merge(*dirs, *out); });
}

}  // namespace claa
