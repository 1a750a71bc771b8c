// `claa check`: compare a run's aggregates with a committed baseline and flag regressions.
//
// Baseline file (JSON, written by `claa check RUN_DIR --write-baseline FILE`):
//   {"format": "claa-baseline", "version": 1, "keep_rates": [...], "layers": L, "source": {git_commit, model},
//    "heuristics": {NAME: {"spearman": [mean per layer], "recall@0.1": [mean per layer], ...}},
//    "task_scores": {"overall": S, "category:C": S, "dataset:D": S}}
// i.e. the overall-scope per-layer means of Spearman ρ and recall@k, plus the task scores of every scope.
// A full summary.json is accepted as a baseline too (the same extract is taken from it).
//
// Regression (fails the check): a baseline heuristic, layer, metric or score scope missing from the run;
// per-layer mean ρ lower by more than tol_rho; recall@k lower by more than tol_recall; a task score lower
// by more than tol_score points. Changes upwards beyond tolerance, and heuristics/scopes the baseline does
// not know, are notes only.
#pragma once

#include <functional>
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
// The same extract from a summary.json document.
nlohmann::ordered_json baseline_from_summary(const nlohmann::json& summary);
// Reads a baseline or summary.json file and returns the baseline extract; claa::Error on anything else.
nlohmann::json load_baseline(const std::string& path);

struct CheckOptions {
  double tol_rho = 0.02, tol_recall = 0.02, tol_score = 5.0;
  // Optional "did you mean" for a missing heuristic: (missing name, run's names) → suggestion or "".
  std::function<std::string(const std::string&, const std::vector<std::string>&)> suggest;
};

struct CheckResult {
  int64_t comparisons = 0;   // numbers compared
  int64_t within = 0;        // comparisons within tolerance
  std::vector<std::string> regressions;  // one readable line each
  std::vector<std::string> notes;        // improvements, new heuristics/scopes
  bool passed() const { return regressions.empty(); }
};

// Both arguments in the baseline format (make_baseline / load_baseline).
CheckResult check_against_baseline(const nlohmann::json& baseline, const nlohmann::json& current,
                                   const CheckOptions& options = {});

// The full text: regressions, notes, then "check passed: N comparisons within tolerance" or
// "check failed: R regression(s) in N comparisons".
std::string format_check(const CheckResult& result);

}  // namespace claa
