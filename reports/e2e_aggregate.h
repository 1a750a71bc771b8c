// Reports of an e2e-mode run (config "mode": "e2e", method.md §4–§5): every sample was answered by each
// prefill method × keep rate, and scored. The tables follow the paper's Table 1: rows method × keep rate
// (Full KV once), columns datasets and their average.
//
// Records: e2e_records.h.
// Aggregation, per (method, keep) row — every score in points, 100 × score / max_score:
//  1. dataset: mean over the dataset's samples; stderr = sample std / sqrt(n); n = samples.
//  2. average (and per category): unweighted mean of the dataset means (each dataset weighs the same);
//     stderr = sqrt(Σ_d stderr_d²) / D; n = samples summed. A row missing a dataset averages the ones it has
//     (flagged in the tables).
//  3. Δ vs Full KV: row mean − Full KV mean, per dataset and for the average.
//  4. kept tokens, kept share of the prompt and cache MiB (2^20 bytes): plain means over all of the row's samples;
//     time to first token: the mean over the samples that recorded it.
//  5. paired differences vs Full KV and vs the best baseline: paired_stats.h.
// Outputs are deterministic: datasets and categories sorted, methods in order of first appearance, keep rates
// ascending, shortest round-trip numbers in JSON, no timestamps, no absolute paths.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/stats.h"
#include "reports/aggregate.h"
#include "reports/e2e_records.h"
#include "reports/paired_stats.h"

namespace claa {

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
  double prefill_seconds = 0.0;     // mean time to first token over the samples that recorded it (NaN: none did)
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
  PairedComparisons paired;  // each row vs Full KV and vs the best baseline on the same samples (paired_stats.h)

  const E2eRow* reference() const { return !rows.empty() && rows.front().reference ? &rows.front() : nullptr; }
};

// Validates (one category and max_score per dataset) and aggregates. claa::Error when there is no sample.
E2eAggregate aggregate_e2e(const std::vector<E2eSample>& samples, const ResamplingOptions& statistics = {});
// RUN_DIR/samples.jsonl (or `sample_files`) + RUN_DIR/run.json (optional; its "statistics" set the seeds and
// resample counts of the paired statistics).
E2eAggregate aggregate_e2e_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files = {});

}  // namespace claa
