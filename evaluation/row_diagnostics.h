// Budget diagnostics for heuristics that aggregate rows (CLAA: the max over z-scored
// (layer, KV head) rows): which rows supply the tokens a budget keeps, how each row is spread, and
// how high the gold evidence scores in each row. A diffuse row that wins most of the budget, or an
// evidence span that no row lifts above the crowd, shows up here without a diagnostic program.
//
// For each keep rate the caller gives the slots the budget fills (rank mode: the top-k of the
// aggregate, k as for recall@k; a pipeline: its kept tokens minus the forced window). A slot is won
// by the row holding the token's largest normalised value (ties → the first row).
#pragma once

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "heuristics/heuristic.h"

namespace claa {

struct RowDiagnostics {
  int layer = 0, head = 0;              // head −1 = the layer's head sum
  double raw_mean = 0, raw_std = 0;     // the statistics the row was normalised with
  double max_value = 0, p99_value = 0;  // of the normalised row
  std::vector<double> share;            // per keep rate: share of the budget's slots this row wins
  double evidence_best = 0;             // best normalised value over the evidence tokens (NaN: no evidence)
};

struct BudgetDiagnostics {
  int layer = 0;  // the layer whose aggregate was diagnosed
  std::string normalize;
  std::vector<double> keep_rates;
  std::vector<int64_t> slots;  // per keep rate: slots filled
  std::vector<RowDiagnostics> rows;
};

// rows: the aggregate's rows (LayerScores::rows, values [R, N']); slots_per_keep[i]: prompt indices
// (< N') filled at keep_rates[i]; evidence: gold token spans [first, last) (may be empty).
BudgetDiagnostics diagnose_rows(const LayerScores::Rows& rows, int layer, const std::vector<double>& keep_rates,
                                const std::vector<at::Tensor>& slots_per_keep,
                                const std::vector<std::pair<int64_t, int64_t>>& evidence);

// {"layer", "normalize", "keep_rates", "slots", "rows": [{"layer", "head", "raw_mean", "raw_std", "max", "p99",
// "share": [...], "evidence_best"}]} (evidence_best null when there is no evidence).
nlohmann::json to_json(const BudgetDiagnostics& d);

}  // namespace claa
