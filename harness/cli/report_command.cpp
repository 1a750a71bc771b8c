// `claa report RUN_DIR` regenerates a run's reports from samples.jsonl (+ run.json);
// `claa check RUN_DIR --baseline FILE` compares the run with a committed baseline (regression gate);
// `claa check RUN_DIR --write-baseline FILE` writes that baseline.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "core/error.h"
#include "core/strings.h"
#include "harness/cli/commands.h"
#include "heuristics/heuristic.h"
#include "reports/aggregate.h"
#include "reports/e2e_report.h"
#include "reports/regression_check.h"
#include "reports/report_writers.h"
#include "reports/run_reports.h"

namespace claa {

namespace {

struct ReportArgs {
  std::string run_dir;
  std::vector<std::string> samples;
  bool no_plots = false;
};

struct CheckArgs {
  std::string run_dir, baseline, write_baseline;
  std::vector<std::string> samples;
  CheckOptions options;
};

void run_report(const ReportArgs& a) {
  ReportOptions options;
  options.plots = !a.no_plots;
  write_run_reports(a.run_dir, a.samples, options);
}

void run_check(const CheckArgs& a) {
  require(!a.baseline.empty() || !a.write_baseline.empty(), "give --baseline FILE or --write-baseline FILE");
  const bool e2e = run_dir_mode(a.run_dir, a.samples) != "rank";  // both-mode runs are checked on their answers
  const nlohmann::ordered_json extract = e2e ? baseline_from_e2e_summary(e2e_summary_json(aggregate_e2e_run_dir(a.run_dir, a.samples)))
                                             : make_baseline(aggregate_run_dir(a.run_dir, a.samples));
  const nlohmann::json current(extract);
  if (!a.write_baseline.empty()) {
    write_text_file(a.write_baseline, extract.dump(2) + "\n");
    fmt::print("wrote baseline {} ({} heuristics, {} keep rates, {} task scores)\n", a.write_baseline,
               current["heuristics"].size(), current["keep_rates"].size(), current["task_scores"].size());
    return;
  }
  CheckOptions options = a.options;
  options.suggest = did_you_mean;
  const nlohmann::json baseline = load_baseline(a.baseline);
  const CheckResult result = check_against_baseline(baseline, current, options);
  fmt::print("{}", format_check(result));
  if (!result.passed()) {
    fmt::print("\n{}", format_provenance(baseline.value("source", nlohmann::json()), current["source"]));
    throw Error(fmt::format("check failed against {}", a.baseline));
  }
}

}  // namespace

void register_report_commands(CLI::App& app) {
  auto r = std::make_shared<ReportArgs>();
  auto* report = app.add_subcommand("report", "write summary.json, layers.csv, report.md/.html and plots for a run");
  report->add_option("RUN_DIR", r->run_dir, "run directory holding samples.jsonl (+ run.json)")->required();
  report->add_option("--samples", r->samples, "samples.jsonl file(s) to merge instead of RUN_DIR/samples.jsonl");
  report->add_flag("--no-plots", r->no_plots, "skip the gnuplot figures");
  report->callback([r] { run_report(*r); });

  auto c = std::make_shared<CheckArgs>();
  auto* check = app.add_subcommand("check", "compare a run's per-layer ρ, recall@k and task scores with a baseline");
  check->add_option("RUN_DIR", c->run_dir, "run directory holding samples.jsonl (+ run.json)")->required();
  auto* base = check->add_option("--baseline", c->baseline, "baseline file (claa-baseline JSON or a summary.json)");
  auto* write = check->add_option("--write-baseline", c->write_baseline, "write this run's baseline to FILE and exit");
  base->excludes(write);
  // Two-sided: a move beyond tolerance either way fails. Defaults when both runs ran on the CPU:
  // 1e-3 (ρ, recall) and 1e-4 (task scores); else 0.02 (ρ, recall) and 5 points (task scores).
  check->add_option("--tol-rho", c->options.tol_rho, "allowed change of a per-layer mean ρ (either way)");
  check->add_option("--tol-recall", c->options.tol_recall, "allowed change of a per-layer mean recall@k (either way)");
  check->add_option("--tol-score", c->options.tol_score, "allowed change of a task score in points (either way)");
  check->add_option("--samples", c->samples, "samples.jsonl file(s) to merge instead of RUN_DIR/samples.jsonl");
  check->callback([c] { run_check(*c); });
}

}  // namespace claa
