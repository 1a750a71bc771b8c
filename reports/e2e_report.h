// Reports of an e2e-mode run: summary.json, report.md / report.html (the paper's Table 1: rows method ×
// keep rate, Full KV once; columns datasets and their average) and the accuracy-vs-keep-rate plot.
// Aggregation rules: e2e_aggregate.h. Outputs are deterministic (no timestamps, no absolute paths).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/e2e_aggregate.h"
#include "reports/report_writers.h"

namespace claa {

nlohmann::ordered_json e2e_summary_json(const E2eAggregate& agg);
// Preamble and the tables shown by both pages: scores, Δ vs Full KV, per category, cache.
std::vector<std::string> e2e_report_preamble(const E2eAggregate& agg);
std::vector<ReportSection> e2e_report_sections(const E2eAggregate& agg);
std::string e2e_report_markdown(const E2eAggregate& agg, const std::vector<PlotFile>& plots);
std::string e2e_report_html(const E2eAggregate& agg, const std::vector<PlotFile>& plots);

// RUN_DIR/plots/e2e_accuracy.{dat,gp}, rendered by gnuplot (when found) to PNG and SVG: average score vs keep
// rate, one line per method (± stderr), Full KV as a dashed horizontal line.
PlotResult render_e2e_plots(const E2eAggregate& agg, const std::string& run_dir,
                            const std::string& gnuplot = "gnuplot");

// summary.json, report.md, report.html and the plot (ReportFiles::layers_csv stays empty: no layers in e2e).
ReportFiles write_e2e_report(const E2eAggregate& agg, const std::string& run_dir, const ReportOptions& options = {});

}  // namespace claa
