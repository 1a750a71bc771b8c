// Expected Attention (Devoto et al. 2025, the kvpress authors). Reference: NVIDIA/kvpress
// kvpress/presses/expected_attention_press.py (ExpectedAttentionPress).
//
// Future queries are modelled as Gaussian: μ, Σ = mean and covariance (÷ count) of the layer's
// pre-RoPE prompt queries after the first n_sink = 4, each turned by R̄, the RoPE rotation averaged
// over the next n_future positions. With A = exp(q·k/√d), E[A] ∝ exp(μ'·k/√d + ½·kᵀΣ'k/d);
// the score of key j is the softmax of that over the keys after the sinks, averaged over the G
// query heads of its group, times ‖v_j‖ (after + epsilon); the n_sink first tokens get the
// largest score + 1 (never pruned). The capture computes the two logit terms (capture.h
// expected_mean / expected_cov) and ‖v‖; n_future is part of what it is asked for.
#include "harness/util/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

nlohmann::json expected_defaults() {
  return {{"n_future_positions", 512}, {"use_covariance", true}, {"use_vnorm", true}, {"epsilon", 0.0}};
}

class ExpectedAttention : public Heuristic {
 public:
  explicit ExpectedAttention(const nlohmann::json& p)
      : future_(p["n_future_positions"].get<int>()), covariance_(p["use_covariance"].get<bool>()),
        vnorm_(p["use_vnorm"].get<bool>()), epsilon_(p["epsilon"].get<double>()) {
    require(future_ >= 1, "expected_attention: n_future_positions must be at least 1");
  }
  std::string name() const override { return "expected_attention"; }
  CaptureNeeds needs() const override {
    CaptureNeeds n;
    n.expected_future = future_;
    n.value_norms = vnorm_;
    return n;
  }
  void configure_capture(CaptureOptions& o) const override { o.extra |= needs(); }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const LayerCapture& c = in.capture.layers.at(layer);
    const int64_t n = in.capture.n_prompt, sinks = std::min<int64_t>(kQueryStatsSkip, n - 1);
    at::Tensor logits = covariance_ ? c.expected_mean + c.expected_cov : c.expected_mean;  // [H, N]
    at::Tensor p = at::softmax(logits.narrow(1, sinks, n - sinks), -1);
    at::Tensor rows = p.view({in.capture.n_kv_heads, -1, n - sinks}).mean(1);  // [H_kv, N − sinks]
    if (vnorm_) rows = (rows + epsilon_) * c.value_norms.narrow(1, sinks, n - sinks);
    at::Tensor sink = at::full({rows.size(0), sinks}, rows.max().item<double>() + 1, rows.options());
    rows = at::cat({sink, rows}, 1);
    return {rows, rows.sum(0), {}};
  }

 private:
  int future_;
  bool covariance_, vnorm_;
  double epsilon_;
};

}  // namespace

HeuristicInfo expected_attention_heuristic() {
  return {"expected_attention", "Expected Attention: softmax of Gaussian future queries x value norm",
          expected_defaults(), [](const nlohmann::json& p) { return std::make_unique<ExpectedAttention>(p); }};
}

}  // namespace claa
