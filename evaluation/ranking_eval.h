// Evaluation: every heuristic's per-layer ranking against the Answer-Informed Oracle, with the
// ranking metrics of method.md §3 for each keep rate.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/metrics.h"
#include "evaluation/row_diagnostics.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"

namespace claa {

struct HeuristicEval {
  std::string name;
  std::string note;
  bool layer_independent = false;
  std::vector<RankingMetrics> layers;           // vs the oracle, one per layer
  std::vector<RankingMetrics> vs_layer_oracle;  // vs the per-layer oracle (when requested)
  std::vector<BudgetDiagnostics> diagnostics;   // aggregate heuristics (CLAA): which rows win the budget
  // Wall time of the two halves (claa bench capture): scoring, with the rankings copied to the
  // host, and the comparisons with the oracle (metrics + diagnostics). Not part of the records.
  double score_seconds = 0, compare_seconds = 0;
  // Every layer's per-head and combined scores, kept when EvalOptions::keep_scores (claa rank
  // --scores-out); empty otherwise.
  HeuristicScores scores;
  // Every layer's kept sets at every keep rate (kept_levels.h kept_sets), when
  // EvalOptions::record_kept_sets: one entry per layer, or one for a layer-independent ranking; "" for a
  // layer with non-finite scores.
  nlohmann::json kept_sets = nlohmann::json::array();
};

struct EvalOptions {
  std::vector<double> keep_rates = {0.1, 0.2, 0.4};
  TokenSpans evidence;            // gold token spans in the prompt (may be empty)
  bool per_layer_oracle = false;  // also compare layer l with the oracle of layer l
  uint64_t sample_seed = 0;
  const std::vector<int64_t>* prompt_ids = nullptr;  // for heuristics that rerun the prompt (draft models)
  const Transformer* model = nullptr;
  const PromptFormat* format = nullptr;  // the prompt's tokenizer and chat template (KVzip)
  // Layers at which heuristics that aggregate rows (CLAA) get budget diagnostics (row_diagnostics.h).
  std::vector<int> diagnostics_layers;
  bool keep_scores = false;  // keep the heuristic's scores in HeuristicEval::scores
  bool record_kept_sets = false;  // fill HeuristicEval::kept_sets (the explorer's token view)
};

std::vector<float> to_float_vector(const at::Tensor& t);

HeuristicEval evaluate_heuristic(const Heuristic& h, const OracleCapture& capture, const EvalOptions& options);

// JSON of one evaluation: per layer {spearman, kendall, degenerate, recall[], mass_recall[],
// ndcg[], evidence_recall[]}.
nlohmann::json to_json(const HeuristicEval& e, const std::vector<double>& keep_rates);
nlohmann::json to_json(const RankingMetrics& m);

}  // namespace claa
