// One full-prompt forward plus the greedy answer, capturing per layer the generic quantities the
// oracle and the heuristics read (method.md §1–§2), and nothing of size N×N:
//
//   window_attn   [H, N]    Σ over the last W prompt queries of softmax(q·K/√d), causal inside
//                           the trailing W×W block (FastKV / SnapKV / CLAA input)
//   last_dots     [H, N]    raw q_last · k (GemFilter)
//   last_attn     [H, N]    softmax(q_last · K / √d) (TOVA; also the answer's step 0)
//   key_norms     [H_kv, N] ‖k‖ (KNorm)
//   observed      [H_kv, N] causal attention column sums over all prompt queries and the G heads
//                           of the group, divided by the number of queries seeing each key (H2O;
//                           only when requested: it needs the explicit or fused attention path)
//   window_sums   (W', [H, N]) the window_attn sum for other windows W' a heuristic asks for
//                           (SnapKV family: 32); each query's softmax row does not depend on W, so
//                           one matmul over the largest window gives every suffix sum
//
// Anything else a heuristic needs it computes itself, in its own file, as a CaptureStatistic: the
// capture hands every statistic the generic inputs of each prompt layer (post-RoPE queries, keys,
// values, positions, the hidden state leaving the layer) and the answer's attention rows, and keeps
// what the statistic writes under the statistic's key (Expected Attention's query statistics,
// Speculative Prefill's look-ahead score).
//
// The answer's attention rows (the last prompt query's, from the prefill, then every fed-back
// answer token's, renormalised over the prompt keys) go to AnswerAttentionSinks: the oracle
// (oracle/oracle.h) is one. The answer is decoded like a plain run (fast attention, no
// probabilities); the fed-back tokens then run once more, together, over the prompt's KV cache,
// which yields every answer step's probabilities from one explicit attention per layer.
// Memory: O(L·H·N) for the captures; no per-head N×N matrix survives a query chunk.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model/transformer.h"

namespace claa {

struct CaptureResult;

// The answer's attention over the prompt at one layer, for consecutive steps first_step,
// first_step + 1, ...: probs [S, H, N], each row renormalised over the N prompt keys. Step 0 is the
// last prompt query (from the prefill), steps 1.. the fed-back answer tokens. Steps and layers
// arrive in any order, each (step, layer) once.
class AnswerAttentionSink {
 public:
  virtual ~AnswerAttentionSink() = default;
  virtual void on_answer_attention(int layer, int64_t first_step, const at::Tensor& probs) = 0;
  // How many steps (step 0 included) the sink reads; the capture feeds it no more. -1 = all.
  virtual int64_t answer_steps() const { return -1; }
};

// A heuristic's own per-prompt statistic, computed from the capture's generic inputs while it runs
// (the role of kvpress's forward hooks). The heuristic's file defines it; the capture only calls it.
// Each prompt layer calls on_attention_inputs, then on_attention_values, then on_layer_output.
// A statistic keeps its results in the CaptureResult it was made for (LayerCapture::statistics or
// CaptureResult::statistics, under its key).
class CaptureStatistic : public AnswerAttentionSink {
 public:
  // queries [H, N, d] post-RoPE, keys [H_kv, N, d] post-RoPE, positions [N].
  virtual void on_attention_inputs(int layer, const at::Tensor& queries, const at::Tensor& keys,
                                   const at::Tensor& positions) {}
  virtual void on_attention_values(int layer, const at::Tensor& values) {}  // [H_kv, N, d]
  virtual void on_layer_output(int layer, const at::Tensor& hidden) {}      // [N, hidden]
  void on_answer_attention(int, int64_t, const at::Tensor&) override {}
  int64_t answer_steps() const override { return 0; }  // most statistics read the prefill only
  // After the last layer and the last answer step.
  virtual void finish() {}
};

// What a statistic is made from, once per captured prompt. The context itself is a temporary: keep
// what it refers to (config, out), not the context.
struct StatisticContext {
  const ModelConfig& config;
  int64_t n_prompt;
  at::Device device;         // where results are kept (the capture's device)
  at::Tensor rope_inv_freq;  // [d/2] the model's RoPE inverse frequencies
  CaptureResult& out;        // where results go
};

// A heuristic's request for a statistic. The key names the statistic and every parameter it depends
// on ("expected_attention(n_future_positions=512)"): requests with equal keys are computed once,
// requests with different keys each get their own results.
struct StatisticRequest {
  std::string key;
  int64_t answer_steps = 0;  // answer tokens (step 0 included) it reads; the capture decodes at least that many
  std::function<std::unique_ptr<CaptureStatistic>(const StatisticContext&)> make;
};

// The per-layer quantities a consumer reads. Heuristics declare theirs (Heuristic::needs()), so a
// prefill pipeline computes only what its selection uses; a full capture (rank mode) computes all.
struct CaptureNeeds {
  bool window_attn = false;                    // FastKV / SnapKV / CLAA
  bool last_query = false;                     // last_dots + last_attn (GemFilter, TOVA)
  bool key_norms = false;                      // KNorm
  bool observed = false;                       // H2O column sums (explicit or fused attention path)
  std::vector<int> windows{};                  // extra observation windows W' (window_sums; SnapKV, PyramidKV, AdaKV)
  std::vector<StatisticRequest> statistics{};  // the heuristics' own statistics (one per key)
  // The prompt's KV cache after the prefill (CaptureResult::prompt_cache; KVzip reconstructs from it
  // instead of prefilling the prompt a second time). Not a per-layer tap quantity: any() ignores it.
  bool prompt_cache = false;
  CaptureNeeds& operator|=(const CaptureNeeds& o);
  bool any() const {
    return window_attn || last_query || key_norms || observed || !windows.empty() || !statistics.empty();
  }
  // The most answer steps any statistic reads (0: the prefill is enough).
  int64_t answer_steps() const;
  static CaptureNeeds all_but_observed() {
    CaptureNeeds n;
    n.window_attn = n.last_query = n.key_norms = true;
    return n;
  }
};

struct CaptureOptions {
  int window = 8;      // W, the observation window
  CaptureNeeds extra;  // asked for by heuristics (their needs()) beyond the defaults
  int64_t max_new_tokens = 32;
  std::vector<int64_t> eos_ids;
  // Where the captures are kept: the model's device (default; on a GPU the heuristics then score
  // there and only the final [N] rankings cross to the host) or the CPU (false: O(L·H·N) of GPU
  // memory saved, at the cost of host-side scoring).
  bool on_model_device = true;
};

struct LayerCapture {
  // fp32; on the model's device (on the CPU after capture_prompt when
  // CaptureOptions::on_model_device is false). Undefined when not needed.
  at::Tensor window_attn, last_dots, last_attn, key_norms, observed;
  std::vector<std::pair<int, at::Tensor>> window_sums;  // (W', [H, N]) for the extra windows
  std::map<std::string, at::Tensor> statistics;         // a statistic's per-layer results, by key
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
  std::map<std::string, at::Tensor> statistics;    // a statistic's whole-prompt results, by key
  at::Tensor rope_inv_freq;                        // [d/2] the model's RoPE inverse frequencies
  double prefill_seconds = 0, decode_seconds = 0;  // the greedy generation's (as a plain run's)
  double answer_pass_seconds = 0;                  // the batched pass over the fed-back answer tokens and its sinks
  // Every layer's keys and values of the prompt's N tokens (length N; rows past N are scratch), when
  // CaptureNeeds::prompt_cache asked for it. Read-only: a consumer copies what it extends.
  std::shared_ptr<const KVCache> prompt_cache;

  // Σ over the last w prompt queries' attention at `layer`, [H, N]: window_attn when w is the
  // capture's window, else the matching window_sums entry (claa::Error when it was not captured).
  const at::Tensor& window_attention(int layer, int w) const;
  // A statistic's result at `layer` / for the whole prompt (claa::Error naming the key when missing).
  const at::Tensor& statistic(int layer, const std::string& key) const;
  const at::Tensor& statistic(const std::string& key) const;
};

// Σ over the last W queries of softmax(q·K/√d) with the causal mask inside the trailing W×W block
// (kv-exps fastkv_utils.py): q [H, N, d] post-RoPE, keys [H_kv, N, d] → [H, N] fp32, same device.
at::Tensor window_attention_sum(const at::Tensor& q, const at::Tensor& keys, int window);
// The softmax rows themselves, [H, W, N] fp32 (the window queries' attention rows external heuristics
// receive, heuristics/external.cpp).
at::Tensor window_attention_rows(const at::Tensor& q, const at::Tensor& keys, int window);

// The prefill part of a capture, usable on its own: a LayerTap that fills out.layers[l] for every
// layer whose queries and keys cover the whole N-token prompt (layers before any pruning), with the
// quantities in `needs`, on `device`. Call complete_layer(l) after run_layer(l) returns (it
// normalises H2O's column sums); decode steps and pruned layers are ignored. The statistics of
// `needs` are made here, one per key, and fed every prefill layer.
class PrefillCaptureTap : public LayerTap {
 public:
  // rope_inv_freq: Transformer::rope_frequencies (handed to the statistics).
  PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs, at::Device device,
                    CaptureResult& out, at::Tensor rope_inv_freq = {});
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                           const at::Tensor& positions) override;
  void on_attention_values(int layer, const at::Tensor& values) override;
  bool wants_column_sums(int layer) const override;
  void on_attention_column_sums(int layer, const at::Tensor& sums) override;
  void on_layer_output(int layer, const at::Tensor& hidden) override;
  void complete_layer(int layer);
  // The statistics made for this capture (they also read the answer's attention, when asked).
  const std::vector<std::unique_ptr<CaptureStatistic>>& statistics() const { return statistics_; }
  // Calls finish() on every statistic (after the last layer; capture_prompt, after the answer too).
  void finish_statistics();
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
  std::vector<std::unique_ptr<CaptureStatistic>> statistics_;
};

// One prompt's capture: the prefill's quantities, the greedy answer, and the answer's attention
// rows handed to `sinks` (and to the statistics that read them). The answer pass over the fed-back
// tokens runs only when a sink or a statistic reads past step 0.
CaptureResult capture_prompt(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                             const CaptureOptions& options, const std::vector<AnswerAttentionSink*>& sinks = {});

}  // namespace claa
