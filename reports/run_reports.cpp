// write_run_reports: aggregate + write + tell the user where everything went, for either mode of run.
#include "reports/run_reports.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <limits>

#include "reports/e2e_records.h"
#include "reports/e2e_report.h"
#include "reports/explorer_page.h"
#include "reports/record_fields.h"
#include "reports/report_format.h"
#include "reports/validity_report.h"

namespace claa {

namespace {

void print_overview(const RunAggregate& agg) {
  fmt::print("aggregated {} samples ({} with an empty answer) in {} datasets: {} heuristics × {} layers\n", agg.samples,
             agg.empty_answers, agg.datasets.size(), agg.heuristics.size(), agg.n_layers);
  for (const std::string& torn : agg.load.torn_lines) fmt::print("ignored a torn last line: {}\n", torn);
  if (!agg.nonfinite.empty())
    fmt::print(stderr, "warning: {} sample × heuristic × layer entries had NaN/Inf values, left out of the averages "
               "(first: {}); see the report's \"Non-finite scores\" section\n", agg.nonfinite.size(), agg.nonfinite.front());
  const std::string recall = metric_name("recall", agg.keep_rates.front());
  fmt::print("{:<24} {:>7} {:>12}\n", "heuristic", "mean ρ", recall);
  for (const HeuristicAggregate& h : agg.overall().heuristics)
    if (h.has_data) fmt::print("{:<24} {:>7.3f} {:>12.3f}\n", h.name, h.summary.mean_rho, h.summary.recall.front());
}

void print_overview(const E2eAggregate& agg) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  fmt::print("aggregated {} e2e samples in {} datasets: {} rows (method × keep)\n", agg.samples, agg.datasets.size(),
             agg.rows.size());
  for (const std::string& torn : agg.load.torn_lines) fmt::print("ignored a torn last line: {}\n", torn);
  fmt::print("{:<24} {:>6} {:>8} {:>8}\n", "method", "keep", "average", "Δ full");
  for (const E2eRow& r : agg.rows)
    fmt::print("{:<24} {:>6} {:>8} {:>8}\n", r.reference ? "Full KV" : r.method, percent(r.keep),
               points(r.average.n > 0 ? r.average.mean : nan), r.reference ? "" : signed_points(r.delta_average));
}

void print_files(const ReportFiles& files, const std::string& run_dir) {
  fmt::print("wrote {}\n", files.summary_json);
  if (!files.layers_csv.empty()) fmt::print("      {}\n", files.layers_csv);
  if (files.gnuplot_missing) fmt::print("gnuplot not found: plots skipped\n");
  for (const PlotFile& p : files.plots.plots) fmt::print("plot  {}/{} (+ .svg)\n", run_dir, p.png);
  for (const std::string& e : files.plots.errors) fmt::print(stderr, "warning: {}\n", e);
  fmt::print("report: {}\n        {}\n", files.markdown, files.html);
  if (!files.explorer.empty()) fmt::print("explorer (token views, drill-down): {}\n", files.explorer);
}

}  // namespace

ReportFiles write_run_reports(const std::string& run_dir, const std::vector<std::string>& sample_files,
                              const ReportOptions& options) {
  // e2e runs (answers per prefill method × keep) get their own tables; mixed records are an error.
  ReportFiles files;
  const std::string mode = run_dir_mode(run_dir, sample_files);
  if (mode == "both") {
    const E2eAggregate agg = aggregate_e2e_run_dir(run_dir, sample_files);
    print_overview(agg);
    const ValidityAnalysis validity =
        analyse_validity(load_both_samples(record::sample_paths(run_dir, sample_files)), agg.paired.options);
    if (!validity.metrics.empty())
      fmt::print("lead rank metric: {} (ρ across cells {:.3f})\n", validity.metrics.front().name,
                 validity.metrics.front().rho);
    files = write_both_report(agg, validity, run_dir, options);
  } else if (mode == "e2e") {
    const E2eAggregate agg = aggregate_e2e_run_dir(run_dir, sample_files);
    print_overview(agg);
    files = write_e2e_report(agg, run_dir, options);
  } else {
    const RunAggregate agg = aggregate_run_dir(run_dir, sample_files);
    print_overview(agg);
    files = write_report(agg, run_dir, options);
  }
  // The interactive page, for runs with per-layer rank metrics (rank and both modes).
  if (mode != "e2e")
    files.explorer = write_explorer_page(run_dir, record::sample_paths(run_dir, sample_files),
                                         "claa explorer: " + std::filesystem::path(run_dir).filename().string());
  print_files(files, run_dir);
  return files;
}

}  // namespace claa
