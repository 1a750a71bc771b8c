#include "oracle/oracle.h"

#include "core/error.h"
#include "core/pooling.h"

namespace claa {

void OracleOptions::validate() const {
  require(layer_aggregation == "max" || layer_aggregation == "mean",
          "oracle layer_aggregation must be max or mean (got '" + layer_aggregation + "')");
  require(head_aggregation == "max" || head_aggregation == "mean" || head_aggregation == "sum",
          "oracle head_aggregation must be max, mean or sum (got '" + head_aggregation + "')");
  require(pool_kernel >= 0, "oracle pool kernel must be non-negative");
}

OracleAccumulator::OracleAccumulator(int n_layers, int64_t n_prompt, OracleOptions options, at::Device device)
    : n_layers_(n_layers), n_prompt_(n_prompt), options_(std::move(options)), device_(device) {
  options_.validate();
  auto reduce_of = [](const std::string& name) {
    return name == "max" ? Reduce::Max : name == "mean" ? Reduce::Mean : Reduce::Sum;
  };
  head_reduce_ = reduce_of(options_.head_aggregation);
  layer_reduce_ = reduce_of(options_.layer_aggregation);
}

at::Tensor OracleAccumulator::head_reduce(const at::Tensor& probs) const {
  at::Tensor p = probs.to(at::kFloat);
  if (head_reduce_ == Reduce::Max) return std::get<0>(p.max(0));
  if (head_reduce_ == Reduce::Mean) return p.mean(0);
  return p.sum(0);
}

void OracleAccumulator::reserve_steps(int64_t steps) {
  const int64_t have = static_cast<int64_t>(layers_seen_.size());
  if (steps <= have) return;
  const at::TensorOptions f32 = at::TensorOptions().dtype(at::kFloat).device(device_);
  at::Tensor more = at::zeros({steps - have, n_prompt_}, f32);
  step_agg_ = step_agg_.defined() ? at::cat({step_agg_, more}, 0) : more;
  layers_seen_.resize(static_cast<size_t>(steps), 0);
  if (!per_layer_sum_.defined()) per_layer_sum_ = at::zeros({n_layers_, n_prompt_}, f32);
}

void OracleAccumulator::add_steps(int layer, int64_t first_step, const at::Tensor& probs) {
  require(probs.dim() == 3 && probs.size(2) == n_prompt_, "oracle: attention rows must be [S, H, N]");
  require(layer >= 0 && layer < n_layers_ && first_step >= 0, "oracle: layer or step out of range");
  const int64_t count = probs.size(0);
  if (count == 0) return;
  reserve_steps(first_step + count);
  // [S, H, N] → [S, N]: the reduction over heads of each step (head_reduce works on [H, N]).
  at::Tensor rows = head_reduce(probs.transpose(0, 1)).to(device_);
  per_layer_sum_[layer].add_(rows.sum(0));
  at::Tensor agg = step_agg_.narrow(0, first_step, count);
  if (layer_reduce_ == Reduce::Max)
    at::maximum_out(agg, agg, rows);
  else
    agg.add_(rows);
  for (int64_t t = first_step; t < first_step + count; ++t) ++layers_seen_[static_cast<size_t>(t)];
}

void OracleAccumulator::add(int layer, const at::Tensor& probs) {
  require(probs.dim() == 2 && probs.size(1) == n_prompt_, "oracle: attention rows must be [H, N]");
  add_steps(layer, current_step_, probs.unsqueeze(0));
}

void OracleAccumulator::end_step() {
  require(static_cast<int64_t>(layers_seen_.size()) > current_step_ && layers_seen_[current_step_] > 0,
          "oracle: a step ended without any layer");
  ++current_step_;
}

void OracleAccumulator::require_complete() const {
  require(!layers_seen_.empty(), "oracle: no answer step was recorded");
  for (int seen : layers_seen_)
    require(seen == n_layers_, "oracle: a step is missing layers (" + std::to_string(seen) + " of " +
                                   std::to_string(n_layers_) + ")");
}

at::Tensor OracleAccumulator::oracle() const {
  require_complete();
  at::Tensor total = step_agg_.sum(0);  // Σ_t peak[t, :]
  if (layer_reduce_ == Reduce::Mean) total.div_(n_layers_);
  return avg_pool_last(total / static_cast<double>(steps()), options_.pool_kernel);
}

at::Tensor OracleAccumulator::per_layer() const {
  require_complete();
  return avg_pool_last(per_layer_sum_ / static_cast<double>(steps()), options_.pool_kernel);
}

OracleCapture capture_with_oracle(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                                  const CaptureOptions& options, const OracleOptions& oracle_options) {
  const int64_t n = static_cast<int64_t>(prompt_ids.size());
  const at::Device device = options.on_model_device ? model.options().device : at::Device(at::kCPU);
  OracleAccumulator accumulator(model.n_layers(), n, oracle_options, device);
  OracleCapture out;
  static_cast<CaptureResult&>(out) = capture_prompt(model, prompt_ids, options, {&accumulator});
  out.oracle = accumulator.oracle();
  out.oracle_per_layer = accumulator.per_layer();
  out.oracle_steps = accumulator.steps();
  return out;
}

}  // namespace claa
