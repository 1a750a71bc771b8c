// SnapKV, PyramidKV, Ada-KV, LazyLLM and Expected Attention on hand-made captures (values worked
// out by hand in the comments), their budget allocations (selection.h) and the rank-mode metrics
// with a per-layer allocation.
#include <cmath>

#include "capture/capture.h"
#include "core/error.h"
#include "evaluation/metrics.h"
#include "evaluation/ranking_eval.h"
#include "heuristics/expected_attention.h"
#include "heuristics/heuristic.h"
#include "model/model_config.h"
#include "oracle/oracle.h"
#include "selection/selection.h"
#include "tests/catch.h"

namespace {

std::vector<float> vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void check_values(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-5));
}

// N = 6, W = 2, 2 heads / 1 KV head; window sums for w = 3 only.
claa::CaptureResult snap_capture() {
  claa::CaptureResult c;
  c.n_prompt = 6;
  c.window = 2;
  c.n_kv_heads = 1;
  claa::LayerCapture l;
  l.window_sums.emplace_back(3, at::tensor(std::vector<float>{0.2f, 0.6f, 0.4f, 0.9f, 0.5f, 0.4f,  //
                                                              0.4f, 0.2f, 0.8f, 0.1f, 0.3f, 0.2f})
                                    .view({2, 6}));
  c.layers = {l};
  return c;
}

}  // namespace

TEST_CASE("SnapKV drops its own window, pools, averages the group and keeps the rest of its window", "[heuristics]") {
  claa::CaptureResult c = snap_capture();
  // First N − 3 columns: head 0 {0.2, 0.6, 0.4}, head 1 {0.4, 0.2, 0.8}; the 4th entry (position 3,
  // inside SnapKV's window but before the forced W = 2) is the max + 1.
  auto one = claa::make_heuristic("snapkv", {{"window", 3}, {"kernel", 1}})->score({c});
  check_values(vec(one.combined[0]), {0.3f, 0.4f, 0.6f, 1.6f});
  // max pool 3 (−inf padding): head 0 {0.6, 0.6, 0.6}, head 1 {0.4, 0.8, 0.8}.
  auto maxpool = claa::make_heuristic("snapkv", {{"window", 3}, {"kernel", 3}})->score({c});
  check_values(vec(maxpool.combined[0]), {0.5f, 0.7f, 0.7f, 1.7f});
  // avg pool 3 (zero padding counted): head 0 {0.8, 1.2, 1.0}/3, head 1 {0.6, 1.4, 1.0}/3.
  auto avg = claa::make_heuristic("snapkv", {{"window", 3}, {"kernel", 3}, {"pooling", "avgpool"}})->score({c});
  check_values(vec(avg.combined[0]), {0.7f / 3, 1.3f / 3, 1.0f / 3, 1.3f / 3 + 1});
  // Its own window must have been captured: the default 32 was not.
  CHECK_THROWS_AS(claa::make_heuristic("snapkv")->score({c}), claa::Error);
  CHECK_THROWS_AS(claa::make_heuristic("snapkv", {{"pooling", "median"}}), claa::Error);
  CHECK(claa::make_heuristic("snapkv")->needs().windows == std::vector<int>{32});
}

TEST_CASE("KVCache-Factory's kv_head mode averages the group before the max pool", "[heuristics]") {
  claa::CaptureResult c = snap_capture();
  // Group mean first: {0.3, 0.4, 0.6}; max pool 3: {0.4, 0.6, 0.6}; then the window entry, max + 1.
  auto before = claa::make_heuristic("snapkv", {{"window", 3}, {"kernel", 3}, {"gqa_mean", "before_pool"}})->score({c});
  check_values(vec(before.combined[0]), {0.4f, 0.6f, 0.6f, 1.6f});
  // PyramidKV and Ada-KV default to it (their reference is KVCache-Factory), SnapKV does not.
  CHECK(claa::resolve_heuristic_params("pyramidkv", {})["gqa_mean"] == "before_pool");
  CHECK(claa::resolve_heuristic_params("adakv", {})["gqa_mean"] == "before_pool");
  CHECK(claa::resolve_heuristic_params("snapkv", {})["gqa_mean"] == "after_pool");
  // Under avg pooling the order cannot matter (both are linear).
  auto avg_a = claa::make_heuristic("snapkv", {{"window", 3}, {"kernel", 3}, {"pooling", "avgpool"}})->score({c});
  auto avg_b = claa::make_heuristic("snapkv",
                                    {{"window", 3}, {"kernel", 3}, {"pooling", "avgpool"}, {"gqa_mean", "before_pool"}})
                   ->score({c});
  check_values(vec(avg_b.combined[0]), vec(avg_a.combined[0]));
  CHECK_THROWS_WITH(claa::make_heuristic("snapkv", {{"gqa_mean", "during"}}),
                    Catch::Contains("after_pool or before_pool"));
}

TEST_CASE("PyramidKV's per-layer budgets follow KVCache-Factory's integer formula", "[heuristics]") {
  // free 100, len 1000, 5 layers, beta 20: min 5, max 195, steps 47.
  std::vector<int64_t> got;
  for (int l = 0; l < 5; ++l) got.push_back(claa::pyramid_layer_budget(100, 1000, l, 5, 20));
  CHECK(got == std::vector<int64_t>{195, 148, 101, 54, 7});
  // max capped at len: max 1000, min 2·600 − 1000 = 200, steps 200.
  got.clear();
  for (int l = 0; l < 5; ++l) got.push_back(claa::pyramid_layer_budget(600, 1000, l, 5, 20));
  CHECK(got == std::vector<int64_t>{1000, 800, 600, 400, 200});
  auto h = claa::make_heuristic("pyramidkv");
  CHECK(h->allocation().kind == claa::BudgetAllocation::Kind::Pyramid);
  CHECK(h->allocation().beta == 20);
}

TEST_CASE("Recall with an allocated count covers the oracle's top-k with the heuristic's kept set", "[heuristics]") {
  std::vector<float> h = {6, 5, 4, 3, 2, 1}, o = {1, 2, 3, 4, 5, 6};
  // keep 0.5 → k = 3: uniform top-3 {0,1,2} misses {3,4,5}; 4 kept tokens reach index 3.
  auto uniform = claa::compare_rankings(h, o, {0.5});
  CHECK(uniform.recall[0] == Approx(0.0));
  CHECK(uniform.mass_recall[0] == Approx(6.0 / 15));
  CHECK(uniform.k_kept.empty());
  auto allocated = claa::compare_rankings_allocated(h, o, {0.5}, {4});
  CHECK(allocated.k == std::vector<int64_t>{3});
  CHECK(allocated.k_kept == std::vector<int64_t>{4});
  CHECK(allocated.recall[0] == Approx(1.0 / 3));
  CHECK(allocated.mass_recall[0] == Approx(10.0 / 15));
  CHECK(allocated.spearman == Approx(uniform.spearman));
  CHECK(allocated.ndcg[0] == Approx(uniform.ndcg[0]));
}

TEST_CASE("PyramidKV in rank mode evaluates each layer at its pyramid share", "[heuristics]") {
  claa::OracleCapture c;
  c.n_prompt = 12;
  c.window = 2;
  c.n_kv_heads = 1;
  claa::LayerCapture l;
  l.window_attn = at::arange(12, at::kFloat).flip(0).unsqueeze(0);  // token 0 scores highest
  c.layers = {l, l};
  c.oracle = at::arange(12, at::kFloat).flip(0);
  claa::EvalOptions options;
  options.keep_rates = {0.2};
  auto e = claa::evaluate_heuristic(*claa::make_heuristic("pyramidkv", {{"window", 2}, {"kernel", 1}}), c, options);
  // N' = 10, k = 2: min ⌊2/20⌋ = 0, max 4, steps 4 → layer 0 keeps 4, layer 1 keeps 0.
  CHECK(e.layers[0].k_kept == std::vector<int64_t>{4});
  CHECK(e.layers[0].recall[0] == Approx(1.0));
  CHECK(e.layers[1].k_kept == std::vector<int64_t>{0});
  CHECK(e.layers[1].recall[0] == Approx(0.0));
  CHECK(e.layers[1].spearman == Approx(1.0));
}

TEST_CASE("Ada-KV splits a layer's free slots across heads with a safeguard", "[heuristics]") {
  at::Tensor rows = at::tensor(std::vector<float>{9, 8, 7, 1, 1, 1, 0.5f, 0.4f, 6, 0.3f, 0.2f, 0.1f}).view({2, 6});
  // n = 8, c = 5, W = 2: 3 free slots per head, 6 in all. alpha 0.34: each head keeps its top 1
  // ({0} and {2}), the other 4 go to head 0's 8, 7, 1, 1 (ties → lower token).
  auto kept = claa::keep_adaptive_per_head(rows, 8, 5, 2, 0.34);
  CHECK(vec(kept[0].to(at::kFloat)) == std::vector<float>{0, 1, 2, 3, 4, 6, 7});
  CHECK(vec(kept[1].to(at::kFloat)) == std::vector<float>{2, 6, 7});
  // alpha 1: every head keeps its own top 3 (uniform budgets).
  auto uniform = claa::keep_adaptive_per_head(rows, 8, 5, 2, 1.0);
  CHECK(vec(uniform[0].to(at::kFloat)) == std::vector<float>{0, 1, 2, 6, 7});
  CHECK(vec(uniform[1].to(at::kFloat)) == std::vector<float>{0, 1, 2, 6, 7});

  // The heuristic: SnapKV rows per KV head, the layer's ranking their max, rows for diagnostics.
  claa::CaptureResult c = snap_capture();
  c.n_kv_heads = 2;  // G = 1: each head is its own group
  auto s = claa::make_heuristic("adakv", {{"window", 3}, {"kernel", 1}})->score_layer({c}, 0);
  check_values(vec(s.combined), {0.4f, 0.6f, 0.8f, 1.8f});
  CHECK(s.rows.values.size(0) == 2);
  CHECK(s.rows.labels == std::vector<std::pair<int, int>>{{0, 0}, {0, 1}});
  CHECK(claa::make_heuristic("adakv")->allocation().kind == claa::BudgetAllocation::Kind::HeadAdaptive);
}

TEST_CASE("LazyLLM ranks by the worst percentile over the pruning stages so far", "[heuristics]") {
  claa::CaptureResult c;
  c.n_prompt = 4;
  c.window = 1;
  c.n_kv_heads = 1;
  auto layer = [](std::vector<float> attn) {
    claa::LayerCapture l;
    at::Tensor row = at::tensor(attn).unsqueeze(0);
    l.last_attn = at::cat({row, row}, 0);  // two heads, same row: the head mean is the row
    return l;
  };
  c.layers = {layer({0.7f, 0.1f, 0.1f, 0.1f}), layer({0.1f, 0.2f, 0.3f, 0.4f}), layer({0.1f, 0.4f, 0.3f, 0.2f}),
              layer({0.4f, 0.1f, 0.3f, 0.2f})};
  auto s = claa::make_heuristic("lazyllm", {{"stages", {0.5}}})->score({c});  // stage at layer 2
  // Layer 1 (before the stage): its own percentiles {0.25, 0.5, 0.75, 1}.
  check_values(vec(s.combined[1]), {0.25f, 0.5f, 0.75f, 1.0f});
  // Layer 2: percentiles of {0.1, 0.4, 0.3, 0.2} = {0.25, 1, 0.75, 0.5}; layer 3's own
  // {1, 0.25, 0.75, 0.5}, min with layer 2's → {0.25, 0.25, 0.75, 0.5}.
  check_values(vec(s.combined[2]), {0.25f, 1.0f, 0.75f, 0.5f});
  check_values(vec(s.combined[3]), {0.25f, 0.25f, 0.75f, 0.5f});
}

TEST_CASE("Expected Attention: softmax of the expected logits after the sinks, group mean, value norm", "[heuristics]") {
  claa::CaptureResult c;
  c.n_prompt = 7;
  c.window = 2;
  c.n_kv_heads = 1;
  claa::LayerCapture l;
  const float l2 = std::log(2.0f), l3 = std::log(3.0f);
  const std::string key = claa::expected_attention_key(512);
  l.statistics[key + ":mean"] = at::tensor(std::vector<float>{9, 9, 9, 9, 0, l2, l3, 9, 9, 9, 9, 0, 0, 0}).view({2, 7});
  l.statistics[key + ":cov"] = at::tensor(std::vector<float>{9, 9, 9, 9, 0, 0, 0, 9, 9, 9, 9, l3, 0, 0}).view({2, 7});
  l.statistics[key + ":value_norms"] = at::tensor(std::vector<float>{1, 1, 1, 1, 2, 1, 3}).view({1, 7});
  c.layers = {l};
  // head 0 softmax {1, 2, 3}/6, head 1 {3, 1, 1}/5; mean {23/60, 16/60, 21/60} × ‖v‖ {2, 1, 3}.
  auto full = claa::make_heuristic("expected_attention")->score({c});
  const float a = 46.0f / 60, b = 16.0f / 60, d = 63.0f / 60;
  check_values(vec(full.combined[0]), {d + 1, d + 1, d + 1, d + 1, a, b, d});
  // Without the covariance head 1 is uniform: mean {1/4, 1/3, 5/12} × {2, 1, 3}.
  auto mean_only = claa::make_heuristic("expected_attention", {{"use_covariance", false}})->score({c});
  check_values(vec(mean_only.combined[0]), {2.25f, 2.25f, 2.25f, 2.25f, 0.5f, 1.0f / 3, 1.25f});
  const claa::CaptureNeeds needs = claa::make_heuristic("expected_attention")->needs();
  REQUIRE(needs.statistics.size() == 1);
  CHECK(needs.statistics[0].key == "expected_attention(n_future_positions=512)");
  // Another n_future reads its own statistic, which this capture lacks: an error, not the wrong scores.
  CHECK_THROWS_WITH(claa::make_heuristic("expected_attention", {{"n_future_positions", 256}})->score({c}),
                    Catch::Contains("no statistic 'expected_attention(n_future_positions=256):mean'"));
}

namespace {

// The Expected Attention statistic's mean term on one layer for queries q at `positions`, handed the
// prompt's frequencies `handed`, as the capture does.
at::Tensor expected_mean_term(const claa::ModelConfig& config, const at::Tensor& handed, const at::Tensor& q,
                              const at::Tensor& k, const at::Tensor& positions) {
  claa::CaptureResult out;
  out.layers.resize(config.n_layers);
  const claa::StatisticContext context{config, q.size(1), at::kCPU, handed, out};
  const auto statistic = claa::make_heuristic("expected_attention")->needs().statistics.at(0).make(context);
  statistic->on_attention_inputs(1, q, k, positions);
  return out.layers[1].statistics.at(claa::expected_attention_key(512) + ":mean");
}

// kvpress's mean term by hand: μ' = mean of the pre-RoPE queries after the 4 sinks (unrotated with
// `rotated`) turned by R̄ over [next, next + 512) with `future` frequencies; μ'·k/√d.
at::Tensor hand_mean_term(const at::Tensor& q, const at::Tensor& k, const at::Tensor& positions,
                          const at::Tensor& rotated, int64_t next, const at::Tensor& future) {
  const int64_t n = q.size(1), H = q.size(0), Hkv = k.size(0), d = q.size(2);
  const at::Tensor pre = claa::unrotate_queries(q, positions, rotated).narrow(1, 4, n - 4);
  const at::Tensor mu = at::matmul(pre.mean(1), claa::average_rope(next, 512, future).t());  // [H, d]
  return at::matmul(k.repeat_interleave(H / Hkv, 0), mu.unsqueeze(-1)).squeeze(-1) / std::sqrt(double(d));
}

}  // namespace

TEST_CASE("Expected Attention unrotates Gemma 3 sliding layers with their own RoPE base", "[heuristics]") {
  // Tiny Gemma 3: layer 0 slides (rope_theta 10000, unscaled), layer 1 is global (1e6, linear factor 8).
  const claa::ModelConfig config =
      claa::ModelConfig::from_hf_file(std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/model/tiny/gemma3/config.json");
  REQUIRE(config.layer_slides(0));
  REQUIRE_FALSE(config.layer_slides(1));
  const int64_t H = config.n_heads, Hkv = config.n_kv_heads, d = config.head_dim, n = 40, future = 512;
  // By hand from config.json: 1 / (θ^(2i/d) · factor).
  auto frequencies = [&](double theta, double factor) {
    std::vector<float> f;
    for (int64_t i = 0; i < d / 2; ++i) f.push_back(static_cast<float>(1.0 / (std::pow(theta, 2.0 * i / d) * factor)));
    return at::tensor(f);
  };
  const at::Tensor global = frequencies(1e6, 8.0), local = frequencies(1e4, 1.0);
  claa::CaptureResult out;
  out.layers.resize(2);
  const claa::StatisticContext context{config, n, at::kCPU, global, out};  // the capture hands over the model's
  const claa::CaptureNeeds needs = claa::make_heuristic("expected_attention")->needs();
  const auto statistic = needs.statistics.at(0).make(context);
  at::manual_seed(3);
  const at::Tensor q = at::randn({H, n, d}), k = at::randn({Hkv, n, d}), positions = at::arange(n, at::kLong);
  for (int layer : {0, 1}) statistic->on_attention_inputs(layer, q, k, positions);
  // kvpress's mean term, each layer's queries unrotated and R̄ turned with that layer's frequencies.
  auto mean_term = [&](const at::Tensor& f) { return hand_mean_term(q, k, positions, f, n, f); };
  const std::string key = claa::expected_attention_key(future) + ":mean";
  check_values(vec(out.layers[0].statistics.at(key)), vec(mean_term(local)));
  check_values(vec(out.layers[1].statistics.at(key)), vec(mean_term(global)));
  CHECK((mean_term(local) - mean_term(global)).abs().max().item<float>() > 0.1);  // the bases are told apart
}

TEST_CASE("Expected Attention averages the future after the prompt's last position in a pruned stage", "[heuristics]") {
  // A LazyLLM stage holds 40 of the prompt's rows, the last at position 139: R̄ covers [140, 652), as
  // for the whole 140-token prompt (kvpress's q_len), not [40, 552).
  const claa::ModelConfig config =
      claa::ModelConfig::from_hf_file(std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/model/tiny/llama3/config.json");
  const at::Tensor f = claa::rope_inv_freq(config);
  at::manual_seed(5);
  const int64_t n = 40;
  const at::Tensor q = at::randn({config.n_heads, n, config.head_dim}),
                   k = at::randn({config.n_kv_heads, n, config.head_dim});
  const at::Tensor positions = at::arange(n, at::kLong) * 3 + 22;  // kept rows 22, 25, ..., 139
  const at::Tensor ours = expected_mean_term(config, f, q, k, positions);
  check_values(vec(ours), vec(hand_mean_term(q, k, positions, f, 140, f)));
  CHECK((hand_mean_term(q, k, positions, f, 140, f) - hand_mean_term(q, k, positions, f, n, f))
            .abs()
            .max()
            .item<float>() > 0.01);
}

TEST_CASE("Expected Attention turns a LongRoPE prompt's future with the long factors past the original context",
          "[heuristics]") {
  // Tiny Phi-3: original context 64. A 40-token prompt rotates with the short factors; its future
  // [40, 552) reaches past 64, so kvpress's rotary_emb (HF longrope_frequency_update: the largest
  // position) turns R̄ with the long ones.
  const claa::ModelConfig config =
      claa::ModelConfig::from_hf_file(std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/model/tiny/phi3/config.json");
  REQUIRE(config.rope_scaling.type == "longrope");
  const at::Tensor short_f = claa::rope_inv_freq(config, 40), long_f = claa::rope_inv_freq(config, 65);
  at::manual_seed(6);
  const int64_t n = 40;
  const at::Tensor q = at::randn({config.n_heads, n, config.head_dim}),
                   k = at::randn({config.n_kv_heads, n, config.head_dim});
  const at::Tensor positions = at::arange(n, at::kLong);
  const at::Tensor ours = expected_mean_term(config, short_f, q, k, positions);  // the capture hands the prompt's
  check_values(vec(ours), vec(hand_mean_term(q, k, positions, short_f, n, long_f)));
  CHECK((hand_mean_term(q, k, positions, short_f, n, long_f) - hand_mean_term(q, k, positions, short_f, n, short_f))
            .abs()
            .max()
            .item<float>() > 0.01);
}

TEST_CASE("Undoing RoPE inverts the averaged rotation at one position", "[heuristics]") {
  // average_rope(p, 1) is RoPE at position p as a matrix (x·Rᵀ rotates a row x); unrotate_queries undoes it.
  at::Tensor inv_freq = at::tensor(std::vector<float>{1.0f, 0.1f});
  at::Tensor x = at::tensor(std::vector<float>{0.3f, -1.2f, 0.7f, 2.0f}).view({1, 1, 4});
  at::Tensor rotated = at::matmul(x, claa::average_rope(5, 1, inv_freq).t());
  // By hand: frequency 1 at position 5 turns (x0, x2) = (0.3, 0.7) by 5 rad.
  CHECK(rotated[0][0][0].item<float>() == Approx(0.3 * std::cos(5.0) - 0.7 * std::sin(5.0)).margin(1e-5));
  CHECK(rotated[0][0][2].item<float>() == Approx(0.7 * std::cos(5.0) + 0.3 * std::sin(5.0)).margin(1e-5));
  at::Tensor back = claa::unrotate_queries(rotated, at::tensor(std::vector<int64_t>{5}), inv_freq);
  check_values(vec(back), vec(x));
}
