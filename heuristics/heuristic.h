// A heuristic scores prompt tokens from one unpruned forward pass (method.md §2). It only scores:
// selecting (top-k, budgets) and applying (pruning the prefill) live elsewhere, as in kvpress.
//
// One scoring path: rank mode (evaluation/ranking_eval) and the FastKV-style prefill pipeline
// (harness/pipelines) call the same score_layer(): rank mode for every layer of a full capture,
// the pipeline layer by layer while the prefill runs (only layers 0..l_p exist then). So the ranking
// whose quality rank mode measures is exactly the ranking that prunes the prompt in e2e mode.
// Heuristics that need more than the prefill so far (SpecPrefill's draft look-ahead) say
// online() = false and implement score(); a pipeline then captures the whole prompt first.
//
// Adding a heuristic = one new file defining `HeuristicInfo NAME_heuristic()` + one line in
// registry.cpp's CLAA_HEURISTICS list; it is then usable in `claa rank`, rank-mode runs and as the
// selection of the "fastkv_style" pipeline in e2e runs.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "capture/capture.h"
#include "heuristics/heuristic_spec.h"

namespace claa {

class Tokenizer;
class ChatTemplate;

// How the prompt's text became ids: for heuristics that write text of their own into the model
// (KVzip's reconstruction request). chat is null for raw prompts.
struct PromptFormat {
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat = nullptr;
};

// What a heuristic is given. In a pipeline, capture.layers holds the layers processed so far
// (layers after the current one are empty) and the answer fields are unset.
struct HeuristicInput {
  const CaptureResult& capture;
  uint64_t sample_seed = 0;                        // per-sample seed (random baseline)
  const std::vector<int64_t>* prompt_ids = nullptr;  // the prompt (a draft model re-reads it)
  const Transformer* model = nullptr;                // the model that was captured
  const PromptFormat* format = nullptr;              // the tokenizer and chat template (null when unknown)
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

// One layer's scores. per_head [rows, N'] (rows = H_kv, or 1), combined [N'] (the layer's ranking).
// Aggregates over rows (CLAA) also return the rows they aggregate, so budget diagnostics can say
// which row supplied each kept token.
struct LayerScores {
  at::Tensor per_head, combined;
  struct Rows {
    at::Tensor values;               // [R, N'] normalised rows the aggregate is taken over
    at::Tensor raw_mean, raw_std;    // [R] statistics of the raw rows used for the normalisation
    std::vector<std::pair<int, int>> labels;  // (layer, KV head; −1 = the layer's head sum) per row
    std::string normalize;           // how values were normalised ("zscore", ...)
  };
  Rows rows;  // values undefined for heuristics that do not aggregate rows
};

// How a heuristic's selection splits the budget (method.md §6; selection/selection.h).
//   uniform        every layer and every KV head keeps C (SnapKV, FastKV, ...)
//   pyramid        PyramidKV: per-layer budgets, more at the bottom, the same total over layers
//   head_adaptive  AdaKV: a layer's H_kv·(C − W) free slots go to the best (head, token) pairs
//                  across heads, each head keeping at least alpha_safeguard of its share
struct BudgetAllocation {
  enum class Kind { Uniform, Pyramid, HeadAdaptive };
  Kind kind = Kind::Uniform;
  double beta = 20;              // PyramidKV's steepness
  double alpha_safeguard = 0.2;  // AdaKV's per-head minimum share
};

class Heuristic {
 public:
  virtual ~Heuristic() = default;
  virtual std::string name() const = 0;
  // What the heuristic reads from each layer's capture: generic quantities, and statistics of its
  // own (CaptureStatistic, defined in its file). A pipeline computes only that; a full capture (rank
  // mode) computes it besides the defaults.
  virtual CaptureNeeds needs() const = 0;
  // True when it writes text of its own into the model (KVzip's reconstruction request): it then
  // needs the prompt's tokenizer and chat template (HeuristicInput::format).
  virtual bool needs_tokenizer() const { return false; }
  // True when score_layer(l) depends only on the prompt's prefill of layers 0..l.
  virtual bool online() const { return true; }
  // False for offline heuristics that read nothing of the capture (KVzip reruns the model itself): a
  // pipeline then skips the full capture it would otherwise make first.
  virtual bool reads_capture() const { return true; }
  // One ranking repeated for every layer (SpecPrefill, random, recency, ...).
  virtual bool layer_independent() const { return false; }
  // How its selection splits the budget over layers / KV heads (uniform by default).
  virtual BudgetAllocation allocation() const { return {}; }
  // Departures from the paper's method, for reports ("" = as published).
  virtual std::string note() const { return ""; }
  // Scores at `layer` from input.capture.layers[0..layer] (online heuristics).
  virtual LayerScores score_layer(const HeuristicInput& input, int layer) const;
  // Every layer: score_layer for each layer by default.
  virtual HeuristicScores score(const HeuristicInput& input) const;
};

struct HeuristicInfo {
  std::string name;
  std::string description;
  nlohmann::json defaults;  // every parameter with its default (the source the file names)
  std::function<std::unique_ptr<Heuristic>(const nlohmann::json& params)> make;
  // Named parameter sets from other sources, applied over the defaults by `NAME@PRESET`
  // (heuristic_spec.h): e.g. "kvpress" = the kvpress press's defaults.
  nlohmann::json presets = nlohmann::json::object();
  // Runs outside claa (python:, exec:; heuristics/external.cpp): named by a target, so "all" leaves it out.
  bool external = false;
};

// All registered heuristics, in registry order.
const std::vector<HeuristicInfo>& heuristic_registry();
// Adds a heuristic at run time (tests, experiments linked into claa); the name must be new. Not
// thread-safe: register before any run starts.
void register_heuristic(HeuristicInfo info);
// Build by name; `params` may set any subset of the defaults. Unknown names/keys → claa::Error
// with a "did you mean" suggestion.
std::unique_ptr<Heuristic> make_heuristic(const std::string& name, const nlohmann::json& params = {});
// Build from a spec (`NAME@PRESET{KEY=VALUE}`): defaults, then the preset, then the params.
std::unique_ptr<Heuristic> make_heuristic(const HeuristicSpec& spec);
// Defaults merged with the preset's parameters ("" = none), then with `params`, after validation
// (what make() receives).
nlohmann::json resolve_heuristic_params(const std::string& name, const nlohmann::json& params,
                                        const std::string& preset = "");

// Helpers shared by heuristic files.
HeuristicScores repeat_for_layers(const at::Tensor& ranking, int n_layers, std::string note = "");
// "departs from the paper: key=value, ..." for the params that differ from `paper` ("" if none).
std::string departures(const nlohmann::json& params, const nlohmann::json& paper);
// FastKV window score per KV head for one layer: drop the W window columns, pool each head, sum
// the G heads of each KV group → [H_kv, N − W] (fastkv_utils.py).
at::Tensor window_scores_per_kv_head(const CaptureResult& c, int layer, int pool_kernel);
// The same from a window attention sum [H, N] (capture.h window_attention_sum).
at::Tensor window_scores_from_attention(const at::Tensor& window_attn, int64_t n_kv_heads, int window, int pool_kernel);

}  // namespace claa
