#include "oracle/oracle.h"

#include "harness/util/error.h"
#include "heuristics/pooling.h"

namespace claa {

void OracleOptions::validate() const {
  require(layer_aggregation == "max" || layer_aggregation == "mean",
          "oracle layer_aggregation must be max or mean (got '" + layer_aggregation + "')");
  require(head_aggregation == "max" || head_aggregation == "mean" || head_aggregation == "sum",
          "oracle head_aggregation must be max, mean or sum (got '" + head_aggregation + "')");
  require(pool_kernel >= 0 && pool_rows_before_max >= 0, "oracle pool kernels must be non-negative");
}

OracleAccumulator::OracleAccumulator(int n_layers, int64_t n_prompt, OracleOptions options)
    : n_layers_(n_layers), n_prompt_(n_prompt), options_(std::move(options)) {
  options_.validate();
  auto reduce_of = [](const std::string& name) {
    return name == "max" ? Reduce::Max : name == "mean" ? Reduce::Mean : Reduce::Sum;
  };
  head_reduce_ = reduce_of(options_.head_aggregation);
  layer_reduce_ = reduce_of(options_.layer_aggregation);
}

at::Tensor OracleAccumulator::head_reduce(const at::Tensor& probs) const {
  at::Tensor p = probs.to(at::kFloat);
  if (options_.pool_rows_before_max > 1) p = avg_pool_last(p, options_.pool_rows_before_max);
  if (head_reduce_ == Reduce::Max) return std::get<0>(p.max(0));
  if (head_reduce_ == Reduce::Mean) return p.mean(0);
  return p.sum(0);
}

void OracleAccumulator::add(int layer, const at::Tensor& probs) {
  require(probs.dim() == 2 && probs.size(1) == n_prompt_, "oracle: attention rows must be [H, N]");
  at::Tensor row = head_reduce(probs).to(at::kCPU);
  if (!per_layer_sum_.defined()) {
    per_layer_sum_ = at::zeros({n_layers_, n_prompt_}, at::kFloat);
    sum_over_steps_ = at::zeros({n_prompt_}, at::kFloat);
  }
  per_layer_sum_[layer].add_(row);
  if (layers_in_step_ == 0) {
    step_agg_ = row.clone();
  } else if (layer_reduce_ == Reduce::Max) {
    step_agg_ = at::maximum(step_agg_, row);
  } else {
    step_agg_.add_(row);
  }
  ++layers_in_step_;
}

void OracleAccumulator::end_step() {
  require(layers_in_step_ > 0, "oracle: a step ended without any layer");
  if (layer_reduce_ == Reduce::Mean) step_agg_.div_(layers_in_step_);
  sum_over_steps_.add_(step_agg_);
  layers_in_step_ = 0;
  ++steps_;
}

at::Tensor OracleAccumulator::oracle() const {
  require(steps_ > 0, "oracle: no answer step was recorded");
  return avg_pool_last(sum_over_steps_ / static_cast<double>(steps_), options_.pool_kernel);
}

at::Tensor OracleAccumulator::per_layer() const {
  require(steps_ > 0, "oracle: no answer step was recorded");
  return avg_pool_last(per_layer_sum_ / static_cast<double>(steps_), options_.pool_kernel);
}

}  // namespace claa
