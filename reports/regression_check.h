// `claa check`: compare a run's aggregates with a committed baseline and flag regressions.
//
// Baseline file (JSON, written by `claa check RUN_DIR --write-baseline FILE`):
//   {"format": "claa-baseline", "version": 1, "keep_rates": [...], "layers": L, "source": {git_commit, model},
//    "heuristics": {NAME: {"spearman": [mean per layer], "recall@0.1": [mean per layer], ...}},
//    "task_scores": {"overall": S, "category:C": S, "dataset:D": S}}
// i.e. the overall-scope per-layer means of Spearman ρ and recall@k, plus the task scores of every scope.
// A full summary.json is accepted as a baseline too (the same extract is taken from it).
// e2e runs (claa-e2e-summary) have no heuristics; their task scores are every method × keep row's
// average and dataset means: "e2e:LABEL@KEEP:average", "e2e:LABEL@KEEP:dataset:D" (Full KV: "full@1").
//
// The check is two-sided: it fails when a baseline heuristic, layer, metric or score scope is missing
// from the run, or when any per-layer mean ρ, recall@k or task score moves beyond its tolerance in
// EITHER direction — an "improvement" that appears without a baseline update is as suspect as a drop.
// Heuristics and scopes the baseline does not know are notes only. Default tolerances depend on where
// both runs ran: on the CPU, runs differ only in rounding between hosts, so the defaults are near-exact
// (1e-3 for ρ and recall, 1e-4 for task scores); when either side ran elsewhere (GPU) or says nothing,
// they are 0.02 (ρ, recall) and 5 points (task scores).
// Update a baseline on purpose with `claa check RUN_DIR --write-baseline FILE`.
#pragma once

#include <functional>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/aggregate.h"

namespace claa {

// What a run was made with, from run.json: git_commit, git_dirty, libtorch, device, dtype,
// model_fingerprint, dataset_samples (each only when present). Baselines keep it under "source".
nlohmann::json provenance_of_run(const nlohmann::json& run);
// A table of those fields for the baseline and this run ("unknown" where a side lacks one, as older
// baselines do), marking the ones that differ: printed when a check fails, since a regression
// often comes from a different model file, dataset or LibTorch rather than from the code.
std::string format_provenance(const nlohmann::json& baseline_source, const nlohmann::json& run_source);

// The baseline extract of a run (the format above).
nlohmann::ordered_json make_baseline(const RunAggregate& agg);
// The same extract from a summary.json document (rank or e2e).
nlohmann::ordered_json baseline_from_summary(const nlohmann::json& summary);
// The extract of an e2e summary.json (claa-e2e-summary).
nlohmann::ordered_json baseline_from_e2e_summary(const nlohmann::json& summary);
// Reads a baseline or summary.json file and returns the baseline extract; claa::Error on anything else.
nlohmann::json load_baseline(const std::string& path);

struct CheckOptions {
  // Unset = the default for the devices of the two runs (resolve_tolerances).
  std::optional<double> tol_rho, tol_recall, tol_score;
  // Optional "did you mean" for a missing heuristic: (missing name, run's names) → suggestion or "".
  std::function<std::string(const std::string&, const std::vector<std::string>&)> suggest;
};

struct CheckResult {
  int64_t comparisons = 0;   // numbers compared
  int64_t within = 0;        // comparisons within tolerance
  double tol_rho = 0, tol_recall = 0, tol_score = 0;  // the tolerances used
  std::vector<std::string> regressions;  // moves beyond tolerance (either way) and missing entries
  std::vector<std::string> notes;        // new heuristics/scopes
  bool passed() const { return regressions.empty(); }
};

// Both arguments in the baseline format (make_baseline / load_baseline).
CheckResult check_against_baseline(const nlohmann::json& baseline, const nlohmann::json& current,
                                   const CheckOptions& options = {});

// The full text: changes, notes, then "check passed: N comparisons within tolerance" or
// "check failed: R change(s) beyond tolerance in N comparisons" with how to update the baseline.
std::string format_check(const CheckResult& result);

}  // namespace claa
