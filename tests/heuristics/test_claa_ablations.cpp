// CLAA's ablation parameters (heuristics/claa.cpp) on a hand-made capture with hand-computed values:
// median/MAD and log z-score normalisation, sink/tail exclusion from the row statistics, mean
// aggregation, the rows handed to the budget diagnostics, and the "departs from the paper" note.
#include <cmath>

#include "heuristics/heuristic.h"
#include "tests/catch.h"

namespace {

// Two layers, one head = one KV head, N = 7, W = 2: the window rows (pool 1) are the first 5 entries.
claa::CaptureResult two_layer_capture() {
  claa::CaptureResult c;
  c.n_prompt = 7;
  c.window = 2;
  c.n_kv_heads = 1;
  claa::LayerCapture a, b;
  a.window_attn = at::tensor(std::vector<float>{1, 2, 4, 8, 5, 0, 0}).view({1, 7});
  b.window_attn = at::tensor(std::vector<float>{5, 4, 3, 2, 1, 0, 0}).view({1, 7});
  c.layers = {a, b};
  return c;
}

std::vector<double> vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kDouble).contiguous().view(-1);
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

claa::LayerScores claa_at(int layer, nlohmann::json params) {
  params["pool"] = 1;
  claa::CaptureResult c = two_layer_capture();
  return claa::make_heuristic("claa", params)->score_layer({c}, layer);
}

}  // namespace

TEST_CASE("CLAA median/MAD normalisation: (S - median) / (1.4826 MAD + 1e-8)", "[heuristics][claa]") {
  // Row {1, 2, 4, 8, 5}: median 4, |deviations| {3, 2, 0, 4, 1} → MAD 2.
  auto z = vec(claa_at(0, {{"n", 1}, {"normalize", "median_mad"}}).combined);
  const double scale = 1.4826 * 2 + 1e-8;
  CHECK(z[0] == Approx((1 - 4) / scale));
  CHECK(z[3] == Approx((8 - 4) / scale));
  CHECK(z[2] == Approx(0.0).margin(1e-9));
}

TEST_CASE("CLAA log z-score normalises log(S + 1e-8)", "[heuristics][claa]") {
  std::vector<double> logs;
  for (double v : {1.0, 2.0, 4.0, 8.0, 5.0}) logs.push_back(std::log(v + 1e-8));
  double mean = 0, ss = 0;
  for (double v : logs) mean += v / 5;
  for (double v : logs) ss += (v - mean) * (v - mean);
  const double sd = std::sqrt(ss / 4);  // unbiased
  auto z = vec(claa_at(0, {{"n", 1}, {"normalize", "log_zscore"}}).combined);
  for (size_t j = 0; j < 5; ++j) CHECK(z[j] == Approx((logs[j] - mean) / (sd + 1e-8)).epsilon(1e-5));
}

TEST_CASE("CLAA row statistics can leave out the sink and the question tail", "[heuristics][claa]") {
  // Without the first entry: {2, 4, 8, 5}, mean 4.75, unbiased std 2.5.
  auto z = vec(claa_at(0, {{"n", 1}, {"stats_exclude_sinks", 1}}).combined);
  CHECK(z[0] == Approx((1 - 4.75) / 2.5));
  CHECK(z[3] == Approx((8 - 4.75) / 2.5));
  // Without the last entry: {1, 2, 4, 8}, mean 3.75, std sqrt(28.75 / 3).
  auto t = vec(claa_at(0, {{"n", 1}, {"stats_exclude_tail", 1}}).combined);
  CHECK(t[4] == Approx((5 - 3.75) / std::sqrt(28.75 / 3)));
}

TEST_CASE("CLAA max and mean aggregation over rows, with the rows for diagnostics", "[heuristics][claa]") {
  // z-scores: layer 0 {1,2,4,8,5}: mean 4, std sqrt(7.5); layer 1 {5,4,3,2,1}: mean 3, std sqrt(2.5).
  const double s0 = std::sqrt(7.5), s1 = std::sqrt(2.5);
  const std::vector<double> z0 = {-3 / s0, -2 / s0, 0, 4 / s0, 1 / s0}, z1 = {2 / s1, 1 / s1, 0, -1 / s1, -2 / s1};
  claa::LayerScores mx = claa_at(1, {{"n", 2}});
  claa::LayerScores mean = claa_at(1, {{"n", 2}, {"aggregation", "mean"}});
  auto m = vec(mx.combined), a = vec(mean.combined);
  for (size_t j = 0; j < 5; ++j) {
    CHECK(m[j] == Approx(std::max(z0[j], z1[j])).margin(1e-6));
    CHECK(a[j] == Approx((z0[j] + z1[j]) / 2).margin(1e-6));
  }
  REQUIRE(mx.rows.labels.size() == 2);
  CHECK(mx.rows.labels[0] == std::pair<int, int>{0, 0});
  CHECK(mx.rows.labels[1] == std::pair<int, int>{1, 0});
  CHECK(vec(mx.rows.raw_mean) == std::vector<double>{4, 3});
  CHECK(vec(mx.rows.raw_std)[1] == Approx(s1));
  // At layer 0 only layer 0's row is there (fewer than n at the bottom of the model).
  CHECK(claa_at(0, {{"n", 2}}).rows.labels.size() == 1);
}

TEST_CASE("CLAA labels its departures from the paper", "[heuristics][claa]") {
  CHECK(claa::make_heuristic("claa")->note().empty());
  CHECK(claa::make_heuristic("claa", {{"n", 2}, {"normalize", "median_mad"}})->note() ==
        "departs from the paper: n=2, normalize=median_mad");
  CHECK_THROWS_WITH(claa::make_heuristic("claa", {{"normalize", "minmax"}}), Catch::Contains("median_mad"));
  CHECK_THROWS_WITH(claa::make_heuristic("claa", {{"aggregation", "sum"}}), Catch::Contains("max or mean"));
}
