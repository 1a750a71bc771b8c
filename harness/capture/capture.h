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
//   window_sums   (W', [H, N]) the window_attn sum for other windows W' a heuristic asks for
//                           (SnapKV family: 32); each query's softmax row does not depend on W, so
//                           one matmul over the largest window gives every suffix sum
//   expected_mean [H, N]    Expected Attention's logits (kvpress expected_attention_press.py): with
//   expected_cov  [H, N]    μ, Σ the pre-RoPE query mean / covariance over prompt positions >= 4
//                           turned by R̄ (RoPE averaged over the next n_future positions):
//                           μ'·k/√d and ½·kᵀΣ'k/d for every prompt key k
//   value_norms   [H_kv, N] ‖v‖ (Expected Attention's value-norm rescaling)
//
// The oracle (and Speculative Prefill's self-draft score) is accumulated from the attention
// probabilities of the last prompt query (in the prefill) and of each fed-back answer token,
// renormalised over the prompt keys. The answer is decoded like a plain run (fast attention, no
// probabilities); the fed-back tokens then run once more, together, over the prompt's KV cache,
// which yields every answer step's probabilities from one explicit attention per layer.
// Memory: O(L·H·N) for the captures + O(L·N) for the oracle; no per-head N×N matrix survives a
// query chunk.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <utility>
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
  std::vector<int> windows{};  // extra observation windows W' (window_sums; SnapKV, PyramidKV, AdaKV)
  int expected_future = 0;   // Expected Attention's future positions (0 = off; the larger wins)
  bool value_norms = false;  // ‖v‖ (Expected Attention)
  CaptureNeeds& operator|=(const CaptureNeeds& o);
  bool any() const {
    return window_attn || last_query || key_norms || observed || !windows.empty() || expected_future > 0 || value_norms;
  }
  static CaptureNeeds all_but_observed() {
    CaptureNeeds n;
    n.window_attn = n.last_query = n.key_norms = true;
    return n;
  }
};

// Query rows left out of the pre-RoPE query statistics (kvpress ExpectedAttentionPress n_sink = 4).
constexpr int64_t kQueryStatsSkip = 4;

struct CaptureOptions {
  int window = 8;                  // W, the observation window
  OracleOptions oracle;
  bool observed_attention = false;  // H2O column sums (on a GPU: explicit attention in prefill)
  int spec_lookahead = 0;           // self-draft Speculative Prefill look-ahead tokens k (0 = off)
  int spec_pool = 7;                // its row pool kernel (before the max over layers and heads)
  CaptureNeeds extra;               // asked for by heuristics (configure_capture) beyond the defaults
  int64_t max_new_tokens = 32;
  std::vector<int64_t> eos_ids;
  // Where the captures and the oracle are kept: the model's device (default; on a GPU the heuristics
  // then score there and only the final [N] rankings cross to the host, issue 12) or the CPU
  // (false: O(L·H·N) of GPU memory saved, at the cost of host-side scoring).
  bool on_model_device = true;
};

struct LayerCapture {
  // fp32; on the model's device (on the CPU after capture_prompt when
  // CaptureOptions::on_model_device is false). Undefined when not needed.
  at::Tensor window_attn, last_dots, last_attn, key_norms, observed;
  std::vector<std::pair<int, at::Tensor>> window_sums;  // (W', [H, N]) for the extra windows
  at::Tensor expected_mean, expected_cov, value_norms;
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
  at::Tensor rope_inv_freq;     // [d/2] the model's RoPE inverse frequencies (Expected Attention)
  int64_t spec_steps = 0;
  double prefill_seconds = 0, decode_seconds = 0;  // the greedy generation's (as a plain run's)
  double answer_pass_seconds = 0;  // the batched pass over the fed-back answer tokens + the oracle

  // Σ over the last w prompt queries' attention at `layer`, [H, N]: window_attn when w is the
  // capture's window, else the matching window_sums entry (claa::Error when it was not captured).
  const at::Tensor& window_attention(int layer, int w) const;
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
  // rope_inv_freq (Transformer::rope_frequencies) is needed only for needs.expected_future.
  PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs, at::Device device,
                    CaptureResult& out, at::Tensor rope_inv_freq = {});
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor& positions) override;
  void on_attention_values(int layer, const at::Tensor& values) override;
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
  at::Tensor inv_freq_;
};

// Undo RoPE (HF rotate_half layout): q [H, T, d] post-RoPE at `positions` [T] → pre-RoPE, fp32.
at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq);
// Pre-RoPE query mean [H, d] and covariance [H, d, d] (÷ count) over rows kQueryStatsSkip.. of q_pre.
std::pair<at::Tensor, at::Tensor> query_statistics(const at::Tensor& q_pre);
// R̄: the RoPE rotation matrix averaged over positions [n, n + n_future), [d, d] (kvpress apply_avg_rope).
at::Tensor average_rope(int64_t n, int64_t n_future, const at::Tensor& inv_freq);
// Expected Attention's two logit terms over `keys` [H_kv, N, d] (post-RoPE) from post-RoPE queries
// q [H, N, d] at `positions`: {μ'·k/√d, ½·kᵀΣ'k/d}, each [H, N] fp32.
std::pair<at::Tensor, at::Tensor> expected_attention_logits(const at::Tensor& q, const at::Tensor& positions,
                                                            const at::Tensor& keys, const at::Tensor& inv_freq,
                                                            int64_t n_future);

CaptureResult capture_prompt(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                             const CaptureOptions& options);

}  // namespace claa
