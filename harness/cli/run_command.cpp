// `claa run CONFIG.json` (the main job) and `claa merge DIR...` (join shard outputs).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "harness/cli/commands.h"
#include "harness/runner/merge.h"
#include "harness/runner/mpi_run.h"
#include "harness/runner/mpi_world.h"
#include "harness/runner/runner.h"
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
  refuse_srun_without_mpi();
  if (launched_by_mpi()) {  // mpirun / srun --mpi=pmix: this process is one rank (harness/runner/mpi_run.h)
    MpiRunArgs m;
    m.config = a.config;
    m.overrides = a.overrides;
    m.options.out = a.out;
    m.options.resume = a.resume;
    m.options.limit = a.limit;
    m.options.reports = !a.no_report;
    m.shard_given = !a.shard.empty();
    if (int code = run_experiment_mpi(m); code != 0) throw ExitCode{code};
    return;
  }
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
  const int64_t samples = merge_shards(dirs, out);
  write_run_reports(out);
  fmt::print("merged {} samples from {} folders into {}\n", samples, dirs.size(), out);
}

}  // namespace

void register_run_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "run an experiment config: oracle vs heuristics per layer, reports");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("config", a->config, "experiment config (JSON)")->required();
  cmd->add_option("--set", a->overrides, "override a config value: key.path=value (repeatable)");
  cmd->add_option("--out,-o", a->out, "output folder (default: the config's \"output\")");
  cmd->add_flag("--resume", a->resume, "continue a run: skip samples already in samples.jsonl");
  cmd->add_option("--shard", a->shard, "run only shard i of n (i/n); join with claa merge (mpirun does both itself)");
  cmd->add_option("--limit", a->limit, "at most K samples (under mpirun: per rank)");
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
