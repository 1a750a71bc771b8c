// Expected Attention (Devoto et al. 2025, the kvpress authors). Reference: NVIDIA/kvpress
// kvpress/presses/expected_attention_press.py (ExpectedAttentionPress).
//
// Future queries are modelled as Gaussian: μ, Σ = mean and covariance (÷ count) of the layer's
// pre-RoPE prompt queries after the first n_sink = 4, each turned by R̄, the RoPE rotation averaged
// over the next n_future positions. With A = exp(q·k/√d), E[A] ∝ exp(μ'·k/√d + ½·kᵀΣ'k/d);
// the score of key j is the softmax of that over the keys after the sinks, averaged over the G
// query heads of its group, times ‖v_j‖ (after + epsilon); the n_sink first tokens get the
// largest score + 1 (never pruned). The two logit terms and ‖v‖ are this file's own capture
// statistic, computed from the layer's queries, keys and values while the capture runs; its key
// names n_future, so variants with different n_future each get their own.
#include "heuristics/expected_attention.h"

#include <cmath>

#include "core/error.h"
#include "heuristics/heuristic.h"

namespace claa {

// Undo RoPE (HF rotate_half layout): q [H, T, d] post-RoPE at `positions` [T] → pre-RoPE, fp32.
at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq) {
  // q = q_pre·cos + rotate_half(q_pre)·sin is a rotation per frequency pair; its inverse turns by −θ.
  at::Tensor freqs =
      positions.to(q.device(), at::kFloat).unsqueeze(1) * inv_freq.to(q.device(), at::kFloat).unsqueeze(0);
  at::Tensor angles = at::cat({freqs, freqs}, -1);  // [T, d]
  at::Tensor x = q.to(at::kFloat);
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);  // rotate_half
  return x * angles.cos() - rotated * angles.sin();
}

// R̄: the RoPE rotation matrix averaged over positions [n, n + n_future), [d, d] (kvpress apply_avg_rope).
at::Tensor average_rope(int64_t n, int64_t n_future, const at::Tensor& inv_freq) {
  at::Tensor f = inv_freq.to(at::kCPU, at::kDouble);
  const int64_t half = f.size(0), d = 2 * half;
  at::Tensor freqs = at::arange(n, n + n_future, at::kDouble).unsqueeze(1) * f.unsqueeze(0);
  at::Tensor angles = at::cat({freqs, freqs}, -1);  // [n_future, d]
  at::Tensor eye = at::eye(half, at::kDouble), zero = at::zeros({half, half}, at::kDouble);
  // R(p) = diag(cos) + diag(sin)·P with P = [[0, −I], [I, 0]] (x·R(p)ᵀ applies RoPE to a row x).
  at::Tensor P = at::cat({at::cat({zero, -eye}, 1), at::cat({eye, zero}, 1)}, 0);
  at::Tensor R = angles.cos().mean(0).diag() + angles.sin().mean(0).unsqueeze(1) * P;
  return R.to(at::kFloat).to(inv_freq.device()).view({d, d});
}

std::string expected_attention_key(int64_t n_future) {
  return "expected_attention(n_future_positions=" + std::to_string(n_future) + ")";
}

namespace {

// Query rows left out of the pre-RoPE query statistics (kvpress ExpectedAttentionPress n_sink = 4).
constexpr int64_t kQueryStatsSkip = 4;

// Pre-RoPE query mean [H, d] and covariance [H, d, d] (÷ count) over rows kQueryStatsSkip.. of q_pre.
std::pair<at::Tensor, at::Tensor> query_statistics(const at::Tensor& q_pre) {
  const int64_t skip = std::min<int64_t>(kQueryStatsSkip, q_pre.size(1) - 1);
  at::Tensor rows = q_pre.narrow(1, skip, q_pre.size(1) - skip).to(at::kFloat);  // [H, T', d]
  at::Tensor mean = rows.mean(1, true);
  at::Tensor centred = rows - mean;
  at::Tensor cov = at::matmul(centred.transpose(1, 2), centred) / static_cast<double>(rows.size(1));
  return {mean.squeeze(1), cov};
}

// Expected Attention's two logit terms over `keys` [H_kv, N, d] (post-RoPE) from post-RoPE queries
// q [H, N, d] at `positions`: {μ'·k/√d, ½·kᵀΣ'k/d}, each [H, N] fp32.
std::pair<at::Tensor, at::Tensor> expected_attention_logits(const at::Tensor& q, const at::Tensor& positions,
                                                            const at::Tensor& keys, const at::Tensor& inv_freq,
                                                            int64_t n_future) {
  const int64_t H = q.size(0), d = q.size(2), Hkv = keys.size(0), G = H / Hkv, n = keys.size(1);
  auto [mu, cov] = query_statistics(unrotate_queries(q, positions, inv_freq));
  at::Tensor R = average_rope(q.size(1), n_future, inv_freq).to(q.device());
  mu = at::matmul(mu, R.t());                   // [H, d]
  cov = at::matmul(R, at::matmul(cov, R.t()));  // [H, d, d]
  at::Tensor k = keys.to(at::kFloat).unsqueeze(1).expand({Hkv, G, n, d}).reshape({H, n, d});
  at::Tensor mean_term = at::matmul(k, mu.unsqueeze(-1)).squeeze(-1) / std::sqrt(static_cast<double>(d));
  at::Tensor cov_term = (at::matmul(k, cov) * k).sum(-1) / static_cast<double>(d) / 2.0;
  return {mean_term, cov_term};
}

// The capture statistic: per layer, the two logit terms ([H, N] each) and ‖v‖ ([H_kv, N]).
class ExpectedLogits : public CaptureStatistic {
 public:
  ExpectedLogits(const StatisticContext& c, std::string key, int64_t n_future)
      : out_(c.out), device_(c.device), inv_freq_(c.rope_inv_freq), key_(std::move(key)), future_(n_future) {
    require(inv_freq_.defined(), "expected_attention: the capture has no RoPE frequencies");
  }
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                           const at::Tensor& positions) override {
    auto [mean, cov] = expected_attention_logits(q, positions, keys, inv_freq_.to(q.device()), future_);
    out_.layers[layer].statistics[key_ + ":mean"] = mean.to(device_);
    out_.layers[layer].statistics[key_ + ":cov"] = cov.to(device_);
  }
  void on_attention_values(int layer, const at::Tensor& values) override {
    out_.layers[layer].statistics[key_ + ":value_norms"] = values.to(at::kFloat).norm(2, -1).to(device_);
  }

 private:
  CaptureResult& out_;
  at::Device device_;
  at::Tensor inv_freq_;
  std::string key_;
  int64_t future_;
};

nlohmann::json expected_defaults() {
  return {{"n_future_positions", 512}, {"use_covariance", true}, {"use_vnorm", true}, {"epsilon", 0.0}};
}

class ExpectedAttention : public Heuristic {
 public:
  explicit ExpectedAttention(const nlohmann::json& p)
      : future_(p["n_future_positions"].get<int>()),
        covariance_(p["use_covariance"].get<bool>()),
        vnorm_(p["use_vnorm"].get<bool>()),
        epsilon_(p["epsilon"].get<double>()),
        key_(expected_attention_key(future_)) {
    require(future_ >= 1, "expected_attention: n_future_positions must be at least 1");
  }
  std::string name() const override { return "expected_attention"; }
  CaptureNeeds needs() const override {
    CaptureNeeds n;
    const int64_t future = future_;
    const std::string key = key_;
    n.statistics.push_back({key, 0, [key, future](const StatisticContext& c) {
                              return std::make_unique<ExpectedLogits>(c, key, future);
                            }});
    return n;
  }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const CaptureResult& c = in.capture;
    const int64_t n = c.n_prompt, sinks = std::min<int64_t>(kQueryStatsSkip, n - 1);
    const at::Tensor& mean = c.statistic(layer, key_ + ":mean");
    at::Tensor logits = covariance_ ? mean + c.statistic(layer, key_ + ":cov") : mean;  // [H, N]
    at::Tensor p = at::softmax(logits.narrow(1, sinks, n - sinks), -1);
    at::Tensor rows = p.view({c.n_kv_heads, -1, n - sinks}).mean(1);  // [H_kv, N − sinks]
    if (vnorm_) rows = (rows + epsilon_) * c.statistic(layer, key_ + ":value_norms").narrow(1, sinks, n - sinks);
    at::Tensor sink = at::full({rows.size(0), sinks}, rows.max().item<double>() + 1, rows.options());
    rows = at::cat({sink, rows}, 1);
    return {rows, rows.sum(0), {}};
  }

 private:
  int future_;
  bool covariance_, vnorm_;
  double epsilon_;
  std::string key_;
};

}  // namespace

HeuristicInfo expected_attention_heuristic() {
  HeuristicInfo info{"expected_attention", "Expected Attention: softmax of Gaussian future queries x value norm",
                     expected_defaults(),
                     [](const nlohmann::json& p) { return std::make_unique<ExpectedAttention>(p); }};
  info.presets["kvpress"] = nlohmann::json::object();  // its defaults are the kvpress press's
  return info;
}

}  // namespace claa
