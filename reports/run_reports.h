// One call that turns a run directory into its reports: used by `claa report` and at the end of `claa run`.
#pragma once

#include <string>
#include <vector>

#include "reports/report_writers.h"

namespace claa {

// Aggregates RUN_DIR/samples.jsonl (or `sample_files`, merged) with run.json and timings.jsonl, writes
// summary.json, layers.csv, report.md, report.html and plots/ into RUN_DIR, and prints a short overview
// (counts, mean ρ and recall per heuristic, file paths; "gnuplot not found: plots skipped" when so).
ReportFiles write_run_reports(const std::string& run_dir, const std::vector<std::string>& sample_files = {},
                              const ReportOptions& options = {});

}  // namespace claa
