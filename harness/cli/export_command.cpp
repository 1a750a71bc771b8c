// `claa export --kvpress RUN DIR`: an e2e run's answers as kvpress's result folders
// (harness/runner/kvpress_export.h), to sit beside kvpress's leaderboard results; and back:
// `claa import --kvpress DIR... --out RUN` reads kvpress's folders into a claa e2e run and its report
// (harness/runner/kvpress_import.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "harness/cli/commands.h"
#include "harness/runner/kvpress_export.h"
#include "harness/runner/kvpress_import.h"
#include "reports/run_reports.h"

namespace claa {

namespace {

struct ExportArgs {
  std::string run_dir, out_dir;
  bool kvpress = false;
};

void run_export(const ExportArgs& a) {
  for (const std::string& dir : export_kvpress(a.run_dir, a.out_dir)) fmt::print("wrote {}\n", dir);
}

struct ImportArgs {
  std::vector<std::string> folders;
  std::string out;
  bool kvpress = false;
};

void run_import(const ImportArgs& a) {
  const int64_t n = import_kvpress(a.folders, a.out);
  fmt::print("imported {} samples from {} folders into {}\n", n, a.folders.size(), a.out);
  write_run_reports(a.out);
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

  auto b = std::make_shared<ImportArgs>();
  auto* imp = app.add_subcommand("import", "read another tool's results into a claa run and its report");
  imp->add_flag("--kvpress", b->kvpress, "kvpress's evaluate.py folders (config.yaml + predictions.csv), RULER")
      ->required();
  imp->add_option("FOLDERS", b->folders, "kvpress result folders (one per press × compression ratio)")->required();
  imp->add_option("--out,-o", b->out, "the claa run folder to write (samples.jsonl, run.json, report)")->required();
  imp->callback([b] { run_import(*b); });
}

}  // namespace claa
