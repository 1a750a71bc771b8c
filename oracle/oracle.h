// The Answer-Informed Oracle (method.md §1): attention from the model's own greedy answer back
// to the prompt, as ground truth for token rankings.
//
//   a[l,h,t,j] = softmax_j(q[l,h,t] · k[l,kv(h),j] / sqrt(d))     over the N prompt keys only
//   peak[t,j]  = max over layers l and heads h of a[l,h,t,j]
//   O[j]       = mean over t of peak[t,j], then pool(O, 13)  (skipped when N < 13)
//
// Queries t are the last prompt position and every fed-back answer token. The accumulator is fed
// per layer, one step or a block of consecutive steps at a time (the capture hands it step 0 from
// the prefill and all answer steps of a layer at once, from one batched pass over the answer), so
// nothing of size L·H·T·N is ever held: memory is O(T·N) for each step's running aggregate over
// layers plus O(L·N) for the per-layer oracle.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "capture/capture.h"

namespace claa {

struct OracleOptions {
  std::string layer_aggregation = "max";  // max | mean   (over layers)
  std::string head_aggregation = "max";   // max | mean | sum (over heads)
  int pool_kernel = 13;                   // 0 or 1 = no pooling
  void validate() const;  // claa::Error on unknown names / negative kernels
};

// Fed the answer's attention by the capture (capture.h AnswerAttentionSink), or directly.
class OracleAccumulator : public AnswerAttentionSink {
 public:
  // The sums live on `device` (the model's in rank mode, so a GPU run never waits for a host copy
  // per layer and step; the CPU otherwise).
  OracleAccumulator(int n_layers, int64_t n_prompt, OracleOptions options, at::Device device = at::kCPU);

  // Attention over the prompt keys at one layer for the consecutive steps first_step,
  // first_step + 1, ...: probs [S, H, N], rows summing to 1 (callers renormalise when their softmax
  // also covered answer keys), or to 0 on a sliding layer whose window has passed the whole prompt. Steps and layers
  // may arrive in any order, each (step, layer) once; every step must have all layers before oracle() / per_layer().
  void add_steps(int layer, int64_t first_step, const at::Tensor& probs);
  void on_answer_attention(int layer, int64_t first_step, const at::Tensor& probs) override {
    add_steps(layer, first_step, probs);
  }
  // One step at a time: probs [H, N] for the current step; end_step() after its last layer.
  void add(int layer, const at::Tensor& probs);
  void end_step();

  // Steps with at least one layer (add/end_step users: end_step() refuses an empty step, so these
  // are the steps added so far).
  int64_t steps() const { return static_cast<int64_t>(layers_seen_.size()); }
  // O: [N] fp32 (pooled), on the accumulator's device. Throws if no step was recorded.
  at::Tensor oracle() const;
  // Per-layer oracle (step 4 without the aggregation over layers): [L, N] fp32 (pooled).
  at::Tensor per_layer() const;

 private:
  enum class Reduce { Max, Mean, Sum };  // the options' names, resolved once (add() runs per step × layer)
  at::Tensor head_reduce(const at::Tensor& probs) const;
  Reduce head_reduce_ = Reduce::Max, layer_reduce_ = Reduce::Max;
  int n_layers_;
  int64_t n_prompt_;
  OracleOptions options_;
  at::Device device_;
  // Grows to cover the highest step seen. A max over layers starts from 0, which is exact because
  // attention probabilities are non-negative (and NaN still propagates through at::maximum).
  void reserve_steps(int64_t steps);
  at::Tensor step_agg_;              // [steps, N] each step's aggregate over the layers seen so far
  std::vector<int> layers_seen_;     // per step
  at::Tensor per_layer_sum_;         // [L, N]
  int64_t current_step_ = 0;         // add()/end_step()
  void require_complete() const;  // claa::Error unless there are steps and each has every layer
};

// A prompt's capture together with its Answer-Informed Oracle, from the same forward pass and answer.
struct OracleCapture : CaptureResult {
  at::Tensor oracle;            // [N]
  at::Tensor oracle_per_layer;  // [L, N]
  int64_t oracle_steps = 0;     // T: last prompt position + fed-back answer tokens
};

// capture_prompt with the oracle accumulated from the answer's attention (kept on the capture's device).
OracleCapture capture_with_oracle(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                                  const CaptureOptions& options, const OracleOptions& oracle_options);

}  // namespace claa
