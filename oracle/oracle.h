// The Answer-Informed Oracle (method.md §1): attention from the model's own greedy answer back
// to the prompt, as ground truth for token rankings.
//
//   a[l,h,t,j] = softmax_j(q[l,h,t] · k[l,kv(h),j] / sqrt(d))     over the N prompt keys only
//   peak[t,j]  = max over layers l and heads h of a[l,h,t,j]
//   O[j]       = mean over t of peak[t,j], then pool(O, 13)  (skipped when N < 13)
//
// Queries t are the last prompt position and every fed-back answer token. The accumulator is fed
// one (step, layer) attention row block at a time, so nothing of size L·H·T·N is ever held:
// memory is O(N) for the running max of the current step plus O(L·N) for the per-layer oracle.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace claa {

struct OracleOptions {
  std::string layer_aggregation = "max";  // max | mean   (over layers)
  std::string head_aggregation = "max";   // max | mean | sum (over heads)
  int pool_kernel = 13;                   // 0 or 1 = no pooling
  // Speculative Prefill's variant (method.md §2): pool each attention row with this kernel
  // *before* the max over (layer, head). 0 = off (the oracle pools after the mean).
  int pool_rows_before_max = 0;
  void validate() const;  // claa::Error on unknown names / negative kernels
};

class OracleAccumulator {
 public:
  OracleAccumulator(int n_layers, int64_t n_prompt, OracleOptions options);

  // Attention of one answer step at one layer over the prompt keys: probs [H, N], rows summing
  // to 1 (callers renormalise when their softmax also covered answer keys). Layers of a step may
  // arrive in any order; call end_step() after the last layer of each step.
  void add(int layer, const at::Tensor& probs);
  void end_step();

  int64_t steps() const { return steps_; }
  // O: [N] fp32 (pooled). Throws if no step was recorded.
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
  at::Tensor step_agg_;   // [N] this step's aggregate over the layers seen so far
  int layers_in_step_ = 0;
  at::Tensor sum_over_steps_;   // [N]
  at::Tensor per_layer_sum_;    // [L, N]
  int64_t steps_ = 0;
};

}  // namespace claa
