// One full-prompt forward plus the greedy answer, capturing per layer exactly what the oracle and
// the heuristics need (method.md §1–§2), and nothing of size N×N:
//
//   window_attn   [H, N]    Σ over the last W prompt queries of softmax(q·K/√d), causal inside
//                           the trailing W×W block (FastKV / SnapKV / CLAA input)
//   last_dots     [H, N]    raw q_last · k (GemFilter)
//   last_attn     [H, N]    softmax(q_last · K / √d) (TOVA; also the oracle's first step)
//   key_norms     [H_kv, N] ‖k‖ (KNorm)
//   observed      [H_kv, N] H2O: causal attention column sums over all prompt queries and the G
//                           heads of the group, divided by the number of queries seeing each key
//                           (only when requested: it needs the explicit attention path)
//
// The oracle (and Speculative Prefill's self-draft score) is accumulated online during decoding
// from the attention probabilities of each fed-back token, renormalised over the prompt keys.
// Memory: O(L·H·N) for the captures + O(L·N) for the oracle; no per-head N×N matrix survives a
// query chunk.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "harness/model/transformer.h"
#include "oracle/oracle.h"

namespace claa {

// The per-layer quantities a consumer reads. Heuristics declare theirs (Heuristic::needs()), so a
// prefill pipeline computes only what its selection uses; a full capture (rank mode) computes all.
struct CaptureNeeds {
  bool window_attn = false;  // FastKV / SnapKV / CLAA
  bool last_query = false;   // last_dots + last_attn (GemFilter, TOVA)
  bool key_norms = false;    // KNorm
  bool observed = false;     // H2O column sums (explicit attention path)
  CaptureNeeds& operator|=(const CaptureNeeds& o) {
    window_attn |= o.window_attn, last_query |= o.last_query, key_norms |= o.key_norms, observed |= o.observed;
    return *this;
  }
  static CaptureNeeds all_but_observed() { return {true, true, true, false}; }
};

struct CaptureOptions {
  int window = 8;                  // W, the observation window
  OracleOptions oracle;
  bool observed_attention = false;  // H2O column sums (on a GPU: explicit attention in prefill)
  int spec_lookahead = 0;           // self-draft Speculative Prefill look-ahead tokens k (0 = off)
  int spec_pool = 7;                // its row pool kernel (before the max over layers and heads)
  int64_t max_new_tokens = 32;
  std::vector<int64_t> eos_ids;
};

struct LayerCapture {
  // fp32; on the CPU after capture_prompt, on the model's device inside a pipeline. Undefined when
  // not needed.
  at::Tensor window_attn, last_dots, last_attn, key_norms, observed;
};

struct CaptureResult {
  int64_t n_prompt = 0;
  int window = 8;
  int n_kv_heads = 0;
  std::vector<int64_t> answer_tokens;  // includes the stopping EOS, if any
  bool stopped_by_eos = false;
  // True when the model's first token was EOS: there is no answer to build an oracle from.
  bool empty_answer = false;
  std::vector<LayerCapture> layers;
  at::Tensor oracle;            // [N]
  at::Tensor oracle_per_layer;  // [L, N]
  int64_t oracle_steps = 0;     // T: last prompt position + fed-back answer tokens
  at::Tensor spec_scores;       // [N] self-draft Speculative Prefill (undefined when off)
  int64_t spec_steps = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Σ over the last W queries of softmax(q·K/√d) with the causal mask inside the trailing W×W block
// (kv-exps fastkv_utils.py): q [H, N, d] post-RoPE, keys [H_kv, N, d] → [H, N] fp32, same device.
at::Tensor window_attention_sum(const at::Tensor& q, const at::Tensor& keys, int window);

// The prefill part of a capture, usable on its own: a LayerTap that fills out.layers[l] for every
// layer whose queries and keys cover the whole N-token prompt (layers before any pruning), with the
// quantities in `needs`, on `device`. Call complete_layer(l) after run_layer(l) returns (it
// normalises H2O's column sums); decode steps and pruned layers are ignored.
class PrefillCaptureTap : public LayerTap {
 public:
  PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs, at::Device device,
                    CaptureResult& out);
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor&) override;
  bool wants_column_sums(int layer) const override;
  void on_attention_column_sums(int layer, const at::Tensor& sums) override;
  void complete_layer(int layer);
  // The last query's softmax over the prompt keys of the layer just captured (the oracle's step 0).
  const at::Tensor& last_attention() const { return last_attn_; }

 private:
  const ModelConfig& config_;
  int64_t n_;
  int window_;
  CaptureNeeds needs_;
  at::Device device_;
  CaptureResult& out_;
  bool prefill_layer_ = false;
  at::Tensor last_attn_;
};

CaptureResult capture_prompt(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                             const CaptureOptions& options);

}  // namespace claa
