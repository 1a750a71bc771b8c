// Reports of an e2e-mode run (config "mode": "e2e", method.md §4–§5): every sample was answered by each
// prefill method × keep rate, and scored. The tables follow the paper's Table 1: rows method × keep rate
// (Full KV once), columns datasets and their average.
//
// Input: samples.jsonl records with "mode": "e2e" and a "results" list
//   {"method", "keep", "answer", "score", "kept_tokens", "cache_bytes"} per method × keep
// (the method named "full" is the Full KV reference: one row, whatever its keep).
// Aggregation, per (method, keep) row — every score in points, 100 × score / max_score:
//  1. dataset: mean over the dataset's samples; stderr = sample std / sqrt(n); n = samples.
//  2. average (and per category): unweighted mean of the dataset means (each dataset weighs the same);
//     stderr = sqrt(Σ_d stderr_d²) / D; n = samples summed. A row missing a dataset averages the ones it has
//     (flagged in the tables).
//  3. Δ vs Full KV: row mean − Full KV mean, per dataset and for the average.
//  4. kept tokens, kept share of the prompt and cache MiB (2^20 bytes): plain means over all of the row's samples.
// Outputs are deterministic: datasets and categories sorted, methods in order of first appearance, keep rates
// ascending, shortest round-trip numbers in JSON, no timestamps, no absolute paths.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/report_writers.h"

namespace claa {

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

struct E2eResult {
  std::string method;
  double keep = 1.0;
  double score = 0.0;  // the sample's scale (0..max_score)
  int64_t kept_tokens = 0, cache_bytes = 0;
};

struct E2eSample {
  std::string id, task, dataset, category, where;
  int64_t prompt_tokens = 0;
  double max_score = 100.0;
  std::vector<E2eResult> results;
};

// True for a record written in e2e mode ("mode": "e2e").
bool is_e2e_record(const nlohmann::json& j);

// One e2e record; claa::Error "WHERE: ..." on a missing or mistyped field or a duplicate method × keep.
E2eSample parse_e2e_sample(const nlohmann::json& j, const std::string& where);

// The mode of the records in `paths`: "e2e", or "rank" (also when no record parses: the rank loader then
// reports the problem). claa::Error when rank and e2e records are mixed (naming one line of each).
// An unparsable last line is skipped here (a torn write, handled by the loaders).
std::string samples_mode(const std::vector<std::string>& paths);
// Same for RUN_DIR/samples.jsonl (or `sample_files` when given). Also an error when run.json says
// "mode": "e2e" but the records are rank records.
std::string run_dir_mode(const std::string& run_dir, const std::vector<std::string>& sample_files = {});

// Reads e2e samples.jsonl files in order, with the rank loader's rules: blank lines skipped, an unparsable
// last line is a torn write (ignored, recorded), any other unparsable line or a duplicate id is an error.
std::vector<E2eSample> load_e2e_samples(const std::vector<std::string>& paths, LoadStats* stats = nullptr);

// ---------------------------------------------------------------------------------------------
// Aggregates
// ---------------------------------------------------------------------------------------------

struct E2eDataset {
  std::string name, task, category;
  std::string column;  // table column: the task, or the dataset name when two datasets share a task
  int64_t samples = 0;
  double max_score = 100.0;
};

struct E2eRow {
  std::string method;
  double keep = 1.0;
  bool reference = false;           // the Full KV row
  std::vector<Stat> datasets;       // per E2eAggregate::datasets entry; n = 0 when the row lacks it
  Stat average;                     // mean of the dataset means
  std::map<std::string, Stat> categories;  // category → mean of its dataset means
  std::vector<double> delta;        // per dataset: mean − Full KV mean (NaN when either is missing)
  double delta_average = 0.0;       // average − Full KV average (NaN without Full KV)
  int64_t samples = 0;              // results behind the row
  double kept_tokens = 0.0, kept_share = 0.0, cache_bytes = 0.0;  // means over the row's samples
  std::string label() const;        // "Full KV", "fastkv @ 10%"
  bool complete() const { return average.datasets == int64_t(datasets.size()); }
};

struct E2eAggregate {
  std::vector<std::string> methods;   // non-reference methods, in order of first appearance
  std::vector<double> keep_rates;     // of the non-reference rows, ascending
  std::vector<E2eDataset> datasets;   // sorted by name
  std::vector<std::string> categories;  // sorted
  std::vector<E2eRow> rows;           // Full KV (when present) first, then each method at each of its keeps
  int64_t samples = 0;
  LoadStats load;
  nlohmann::json run;  // run.json as read (null when absent)
  std::vector<BudgetAggregate> budgets;  // budget diagnostics of CLAA-style selections, when recorded

  const E2eRow* reference() const { return !rows.empty() && rows.front().reference ? &rows.front() : nullptr; }
};

// The reference method's name in the records.
inline constexpr const char* kFullKvMethod = "full";

// Validates (one category and max_score per dataset) and aggregates. claa::Error when there is no sample.
E2eAggregate aggregate_e2e(const std::vector<E2eSample>& samples);
// RUN_DIR/samples.jsonl (or `sample_files`) + RUN_DIR/run.json (optional).
E2eAggregate aggregate_e2e_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files = {});

// ---------------------------------------------------------------------------------------------
// Writers (pure: return the content)
// ---------------------------------------------------------------------------------------------

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

// aggregate_e2e_run_dir + write_e2e_report + a short overview on stdout (what write_run_reports does for e2e).
ReportFiles write_e2e_run_reports(const std::string& run_dir, const std::vector<std::string>& sample_files = {},
                                  const ReportOptions& options = {});

}  // namespace claa
