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
#include "model/transformer.h"

namespace claa {

// cos and sin of the RoPE angles at `positions` [T]: [T, d/2] fp32 on `device` (HF's [T, d] angles
// repeat them for the two halves of rotate_half's layout).
RopeAngles rope_angles(const at::Tensor& positions, const at::Tensor& inv_freq, const at::Device& device) {
  const at::Tensor freqs = positions.to(device, at::kFloat).unsqueeze(1) * inv_freq.to(device, at::kFloat).unsqueeze(0);
  return {freqs.cos(), freqs.sin()};
}

at::Tensor unrotate_queries(const at::Tensor& q, const RopeAngles& angles) {
  // q = q_pre·cos + rotate_half(q_pre)·sin turns each pair (q_pre[i], q_pre[i + d/2]) by θ_i:
  // q₁ = p₁·cos − p₂·sin, q₂ = p₂·cos + p₁·sin. Its inverse turns by −θ: p₁ = q₁·cos + q₂·sin,
  // p₂ = q₂·cos − q₁·sin, written half by half into one output (no rotate_half copy).
  const at::Tensor x = q.to(at::kFloat);
  const int64_t half = x.size(-1) / 2;
  const at::Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  at::Tensor out = at::empty(x.sizes(), x.options());
  at::Tensor p1 = out.narrow(-1, 0, half), p2 = out.narrow(-1, half, half);
  at::mul_out(p1, x1, angles.cos).addcmul_(x2, angles.sin);
  at::mul_out(p2, x2, angles.cos).addcmul_(x1, angles.sin, -1);
  return out;
}

at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq) {
  return unrotate_queries(q, rope_angles(positions, inv_freq, q.device()));
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

// Pre-RoPE query mean [H, d] and covariance [H, d, d] (÷ count) of pre-RoPE query rows [H, T', d].
std::pair<at::Tensor, at::Tensor> query_statistics(const at::Tensor& rows) {
  at::Tensor mean = rows.mean(1, true);
  at::Tensor centred = rows - mean;
  at::Tensor cov = at::matmul(centred.transpose(1, 2), centred) / static_cast<double>(rows.size(1));
  return {mean.squeeze(1), cov};
}

// Expected Attention's two logit terms over `keys` [H_kv, N, d] (post-RoPE) from the pre-RoPE query rows
// after the sinks [H, T', d] and R̄ [d, d]: {μ'·k/√d, ½·kᵀΣ'k/d}, each [H, N] fp32.
std::pair<at::Tensor, at::Tensor> expected_attention_logits(const at::Tensor& query_rows, const at::Tensor& keys,
                                                            const at::Tensor& R) {
  const int64_t H = query_rows.size(0), d = query_rows.size(2), Hkv = keys.size(0), G = H / Hkv, n = keys.size(1);
  auto [mu, cov] = query_statistics(query_rows);
  mu = at::matmul(mu, R.t());                   // [H, d]
  cov = at::matmul(R, at::matmul(cov, R.t()));  // [H, d, d]
  // The G query heads of a group share its keys: one GEMM per KV head against the group's G vectors μ'
  // (and its G matrices Σ' side by side) instead of a copy of the keys per query head.
  const at::Tensor k = keys.to(at::kFloat);                                                      // [H_kv, N, d]
  auto per_query_head = [&](const at::Tensor& t) { return t.transpose(1, 2).reshape({H, n}); };  // from [H_kv, N, G]
  at::Tensor mean_term =
      per_query_head(at::matmul(k, mu.view({Hkv, G, d}).transpose(1, 2))) / std::sqrt(static_cast<double>(d));
  const at::Tensor group_covs = cov.view({Hkv, G, d, d}).permute({0, 2, 1, 3}).reshape({Hkv, d, G * d});
  const at::Tensor k_cov = at::matmul(k, group_covs).view({Hkv, n, G, d});  // k·Σ'_g for each g of the group
  at::Tensor cov_term = per_query_head((k_cov * k.unsqueeze(2)).sum(-1)) / static_cast<double>(d) / 2.0;
  return {mean_term, cov_term};
}

// The capture statistic: per layer, the two logit terms ([H, N] each) and ‖v‖ ([H_kv, N]).
class ExpectedLogits : public CaptureStatistic {
 public:
  ExpectedLogits(const StatisticContext& c, std::string key, int64_t n_future)
      : config_(c.config),
        out_(c.out),
        device_(c.device),
        inv_freq_(c.rope_inv_freq),
        key_(std::move(key)),
        future_(n_future) {
    require(inv_freq_.defined(), "expected_attention: the capture has no RoPE frequencies");
  }
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                           const at::Tensor& positions) override {
    const int64_t skip = std::min<int64_t>(kQueryStatsSkip, q.size(1) - 1), rows = q.size(1) - skip;
    // The rotation this layer's queries and keys carry, and R̄ over the n_future positions after the
    // prompt: Gemma 3's sliding layers rotate with their own base (kvpress reads module.rotary_emb, the
    // layer's own; it refuses Gemma 3, so this extension follows the model). Every layer of a prefill
    // sees the same positions and prompt length, so each rotation is made once (per device, where the
    // layers are split) instead of once per layer.
    const bool local = layer_uses_local_rope(config_, layer);
    Rotation& r = local ? local_ : model_;
    if (!r.R.defined() || r.R.device() != q.device()) {
      const at::Tensor inv_freq = local ? rope_inv_freq(local_rope_config(config_)) : inv_freq_;
      r.angles = rope_angles(positions.narrow(0, skip, rows), inv_freq, q.device());
      // R̄ starts after the prompt's last position (kvpress: q_len), which in a pruned stage (LazyLLM's
      // pipeline) is not the number of rows q holds.
      const int64_t next = positions.max().item<int64_t>() + 1;
      r.R = average_rope(next, future_, local ? inv_freq : future_frequencies(next)).to(q.device());
    }
    const at::Tensor query_rows = unrotate_queries(q.narrow(1, skip, rows), r.angles);
    auto [mean, cov] = expected_attention_logits(query_rows, keys, r.R);
    out_.layers[layer].statistics[key_ + ":mean"] = mean.to(device_);
    out_.layers[layer].statistics[key_ + ":cov"] = cov.to(device_);
  }
  void on_attention_values(int layer, const at::Tensor& values) override {
    out_.layers[layer].statistics[key_ + ":value_norms"] = values.to(at::kFloat).norm(2, -1).to(device_);
  }

 private:
  // The frequencies of R̄'s positions [next, next + n_future), as kvpress's module.rotary_emb turns them:
  // HF's longrope_frequency_update picks LongRoPE's long factors by the largest position, so a prompt
  // just below the original context (rotated with the short ones) has its future rotated with the long.
  at::Tensor future_frequencies(int64_t next) const {
    const RopeScaling& s = config_.rope_scaling;
    if (s.type == "longrope" && next + future_ > s.original_context) return rope_inv_freq(config_, next + future_);
    return inv_freq_;
  }
  struct Rotation {
    RopeAngles angles;  // of the prompt's query rows after the sinks
    at::Tensor R;       // R̄ over the n_future positions after the prompt
  };
  const ModelConfig& config_;
  CaptureResult& out_;
  at::Device device_;
  at::Tensor inv_freq_;  // the model's (every layer but Gemma 3's sliding ones)
  std::string key_;
  int64_t future_;
  Rotation model_, local_;
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
