// A heuristic scores prompt tokens from one unpruned forward pass (method.md §2). It only scores:
// selecting (top-k, budgets) and applying (pruning the prefill) live elsewhere, as in kvpress.
//
// Adding a heuristic = one new file defining `HeuristicInfo NAME_heuristic()` + one line in
// registry.cpp's CLAA_HEURISTICS list.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/capture/capture.h"

namespace claa {

struct HeuristicInput {
  const CaptureResult& capture;
  uint64_t sample_seed = 0;                        // per-sample seed (random baseline)
  const std::vector<int64_t>* prompt_ids = nullptr;  // the prompt (a draft model re-reads it)
  const Transformer* model = nullptr;                // the model that was captured
};

// Scores for every layer. per_head[l] is [rows, N'] (rows = H_kv, or 1 for a single ranking);
// combined[l] is the layer's ranking vector [N'] that is compared with the oracle. N' is N, or
// N − W for window-based scores (aligned from the start, method.md §3).
struct HeuristicScores {
  std::vector<at::Tensor> per_head;
  std::vector<at::Tensor> combined;
  bool layer_independent = false;  // one ranking repeated for every layer (SpecPrefill, random, ...)
  std::string note;                // e.g. "self-draft"
};

class Heuristic {
 public:
  virtual ~Heuristic() = default;
  virtual std::string name() const = 0;
  // Ask the capture for what this heuristic needs beyond the defaults (H2O, SpecPrefill).
  virtual void configure_capture(CaptureOptions&) const {}
  virtual HeuristicScores score(const HeuristicInput& input) const = 0;
};

struct HeuristicInfo {
  std::string name;
  std::string description;
  nlohmann::json defaults;  // every parameter with its default (the paper's)
  std::function<std::unique_ptr<Heuristic>(const nlohmann::json& params)> make;
};

// All registered heuristics, in registry order.
const std::vector<HeuristicInfo>& heuristic_registry();
// Build by name; `params` may set any subset of the defaults. Unknown names/keys → claa::Error
// with a "did you mean" suggestion.
std::unique_ptr<Heuristic> make_heuristic(const std::string& name, const nlohmann::json& params = {});
// Defaults merged with `params` after validation (what make() receives).
nlohmann::json resolve_heuristic_params(const std::string& name, const nlohmann::json& params);

// Closest candidate by edit distance, or "" when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// Helpers shared by heuristic files.
HeuristicScores repeat_for_layers(const at::Tensor& ranking, int n_layers, std::string note = "");
// FastKV window score per KV head for one layer: drop the W window columns, pool each head, sum
// the G heads of each KV group → [H_kv, N − W] (fastkv_utils.py).
at::Tensor window_scores_per_kv_head(const CaptureResult& c, int layer, int pool_kernel);
// The same from a window attention sum [H, N] (capture.h window_attention_sum).
at::Tensor window_scores_from_attention(const at::Tensor& window_attn, int64_t n_kv_heads, int window, int pool_kernel);
// CLAA's aggregate at `layer` (claa.cpp): rows_by_layer[l] is [rows, N'] (already z-scored when
// normalising); max over the rows of layers layer−n+1..layer → [N'].
at::Tensor claa_aggregate(const std::vector<at::Tensor>& rows_by_layer, int layer, int n);
at::Tensor zscore_rows(const at::Tensor& rows);

}  // namespace claa
