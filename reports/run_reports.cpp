// write_run_reports: aggregate + write + tell the user where everything went.
#include "reports/run_reports.h"

#include <fmt/format.h>

#include <cstdio>

#include "reports/e2e_report.h"

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

}  // namespace

ReportFiles write_run_reports(const std::string& run_dir, const std::vector<std::string>& sample_files,
                              const ReportOptions& options) {
  // e2e runs (answers per prefill method × keep) get their own reports; mixed records are an error.
  if (run_dir_mode(run_dir, sample_files) == "e2e") return write_e2e_run_reports(run_dir, sample_files, options);
  const RunAggregate agg = aggregate_run_dir(run_dir, sample_files);
  print_overview(agg);
  ReportFiles files = write_report(agg, run_dir, options);
  fmt::print("wrote {}\n      {}\n", files.summary_json, files.layers_csv);
  if (files.gnuplot_missing) fmt::print("gnuplot not found: plots skipped\n");
  for (const PlotFile& p : files.plots.plots) fmt::print("plot  {}/{} (+ .svg)\n", run_dir, p.png);
  for (const std::string& e : files.plots.errors) fmt::print(stderr, "warning: {}\n", e);
  fmt::print("report: {}\n        {}\n", files.markdown, files.html);
  return files;
}

}  // namespace claa
