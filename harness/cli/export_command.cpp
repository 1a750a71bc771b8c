// `claa export --kvpress RUN DIR`: an e2e run's answers as kvpress's result folders
// (harness/runner/kvpress_export.h), to sit beside kvpress's leaderboard results.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "harness/cli/commands.h"
#include "harness/runner/kvpress_export.h"

namespace claa {

namespace {

struct ExportArgs {
  std::string run_dir, out_dir;
  bool kvpress = false;
};

void run_export(const ExportArgs& a) {
  for (const std::string& dir : export_kvpress(a.run_dir, a.out_dir)) fmt::print("wrote {}\n", dir);
}

}  // namespace

void register_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "write a run in another tool's result format");
  cmd->add_flag("--kvpress", a->kvpress, "kvpress's evaluate.py folders: predictions.csv, metrics.json, config.yaml")
      ->required();
  cmd->add_option("RUN_DIR", a->run_dir, "an e2e run folder (samples.jsonl + run.json)")->required();
  cmd->add_option("OUT_DIR", a->out_dir, "where the per-method folders go")->required();
  cmd->callback([a] { run_export(*a); });
}

}  // namespace claa
