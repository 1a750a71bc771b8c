// Ranking-quality metrics: hand-computed cases plus goldens from scipy (tools/make_metric_goldens.py).
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "evaluation/metrics.h"
#include "tests/catch.h"

using claa::TokenSpans;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool near(double a, double b, double tol = 1e-9) { return std::fabs(a - b) <= tol; }

// O(n²) Kendall τ-b straight from the definition, to cross-check Knight's algorithm.
double brute_kendall_b(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t concordant = 0, discordant = 0, tie_a = 0, tie_b = 0, pairs = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i + 1; j < a.size(); ++j) {
      ++pairs;
      const double da = double(a[i]) - a[j], db = double(b[i]) - b[j];
      if (da == 0) ++tie_a;
      if (db == 0) ++tie_b;
      if (da * db > 0) ++concordant;
      if (da * db < 0) ++discordant;
    }
  return double(concordant - discordant) / std::sqrt(double(pairs - tie_a) * double(pairs - tie_b));
}

nlohmann::json load_fixture(const std::string& relative) {
  std::ifstream in(source_path(relative));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<float> floats(const nlohmann::json& j) {
  std::vector<float> out;
  for (const auto& v : j) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

void check_all_near(const std::vector<double>& got, const nlohmann::json& expected, double tol = 1e-9) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("entry " << i << ": got " << got[i] << ", expected " << expected[i].get<double>());
    CHECK(near(got[i], expected[i].get<double>(), tol));
  }
}

}  // namespace

TEST_CASE("spearman and kendall on hand-computed cases", "[metrics]") {
  const std::vector<float> up = {1, 2, 3}, down = {3, 2, 1};
  CHECK(near(claa::spearman(up, up), 1.0));
  CHECK(near(claa::spearman(up, down), -1.0));
  CHECK(near(claa::kendall_tau_b(up, down), -1.0));

  // Ties: ranks of a = [1, 2.5, 2.5, 4]; ρ = 4.5 / sqrt(4.5 · 5); τ_b = 5 / sqrt(5 · 6).
  const std::vector<float> a = {1, 2, 2, 3}, b = {1, 2, 3, 4};
  CHECK(claa::average_ranks(a) == std::vector<double>{1, 2.5, 2.5, 4});
  CHECK(near(claa::spearman(a, b), 4.5 / std::sqrt(22.5)));
  CHECK(near(claa::kendall_tau_b(a, b), 5.0 / std::sqrt(30.0)));
  CHECK_FALSE(claa::spearman_ex(a, b).degenerate);
  CHECK_FALSE(claa::kendall_tau_b_ex(a, b).degenerate);
}

TEST_CASE("degenerate correlations are 0 and flagged", "[metrics]") {
  const std::vector<float> constant = {0.5f, 0.5f, 0.5f, 0.5f}, ramp = {1, 2, 3, 4};
  for (const auto& r : {claa::spearman_ex(constant, ramp), claa::kendall_tau_b_ex(ramp, constant)}) {
    CHECK(r.value == 0.0);
    CHECK(r.degenerate);
  }
  // Length 1 (after the cut) and empty.
  CHECK(claa::spearman_ex({1.0f}, {2.0f, 3.0f}).degenerate);
  CHECK(claa::kendall_tau_b_ex({1.0f}, {2.0f}).degenerate);
  CHECK(claa::spearman_ex({}, {}).degenerate);
  // NaN anywhere in the cut vectors → 0 and degenerate (scipy propagates NaN, the authors map it to 0);
  // a NaN beyond the cut does not matter.
  const std::vector<float> with_nan = {1, kNaN, 3};
  CHECK(claa::spearman_ex(with_nan, ramp).degenerate);
  CHECK(claa::kendall_tau_b_ex(ramp, with_nan).value == 0.0);
  CHECK_FALSE(claa::spearman_ex({1, 2, kNaN}, {1, 2}).degenerate);
  // A constant vector through compare_rankings sets the flags too.
  const claa::RankingMetrics m = claa::compare_rankings(constant, ramp, {0.5});
  CHECK(m.degenerate);
  CHECK(m.spearman_degenerate);
  CHECK(m.kendall_degenerate);
  CHECK(m.spearman == 0.0);
}

TEST_CASE("vectors of different lengths are cut to the shorter one", "[metrics]") {
  const std::vector<float> longer = {3, 2, 1, 99, -5}, shorter = {1, 2, 3};
  CHECK(near(claa::spearman(longer, shorter), -1.0));
  CHECK(near(claa::kendall_tau_b(shorter, longer), -1.0));
  const claa::RankingMetrics m = claa::compare_rankings(longer, shorter, {1.0});
  CHECK(m.length == 3);
  CHECK(m.k == std::vector<int64_t>{3});
  CHECK(m.recall[0] == 1.0);
}

TEST_CASE("kendall tau-b (Knight) matches the O(n^2) definition", "[metrics]") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 2 + trial * 17;
    std::uniform_int_distribution<int> values(0, 1 + trial % 6);
    std::vector<float> a(n), b(n);
    for (int i = 0; i < n; ++i) {
      a[i] = static_cast<float>(values(rng));
      b[i] = static_cast<float>(values(rng)) * 0.5f;
    }
    const claa::RankCorr tau = claa::kendall_tau_b_ex(a, b);
    if (!tau.degenerate) CHECK(near(tau.value, brute_kendall_b(a, b), 1e-12));
  }
}

TEST_CASE("top_k_indices: ties to the lower index, NaN last", "[metrics]") {
  const std::vector<float> s = {0.5f, 0.9f, 0.5f, kNaN, 0.9f, 0.1f};
  CHECK(claa::top_k_indices(s, 4) == std::vector<int64_t>{1, 4, 0, 2});
  CHECK(claa::top_k_indices(s, 6) == std::vector<int64_t>{1, 4, 0, 2, 5, 3});
  CHECK(claa::top_k_indices(s, 10) == std::vector<int64_t>{1, 4, 0, 2, 5, 3});  // clamped
  CHECK(claa::top_k_indices(s, 0).empty());
  CHECK(claa::ranking_order(s) == std::vector<int64_t>{1, 4, 0, 2, 5, 3});
  CHECK(claa::top_k_indices({kNaN, kNaN, -1.0f}, 2) == std::vector<int64_t>{2, 0});
  CHECK_THROWS_AS(claa::top_k_indices(s, -1), claa::Error);
}

TEST_CASE("metric_k (ceil), budget_count (Python int) and budget_tokens (clamped to W + 1 .. N)", "[metrics]") {
  CHECK(claa::metric_k(0.1, 30) == 3);  // 0.1 · 30 = 3.0000000000000004 in floating point
  CHECK(claa::metric_k(0.1, 31) == 4);
  CHECK(claa::metric_k(0.001, 10) == 1);  // clamped up to 1
  CHECK(claa::metric_k(1.0, 7) == 7);
  CHECK(claa::metric_k(0.5, 1) == 1);
  CHECK_THROWS_AS(claa::metric_k(0.0, 10), claa::Error);
  CHECK_THROWS_AS(claa::metric_k(1.5, 10), claa::Error);
  CHECK_THROWS_AS(claa::metric_k(0.5, 0), claa::Error);

  CHECK(claa::budget_count(0.29, 100) == 28);  // int(0.29 * 100) == 28 in Python too
  CHECK(claa::budget_count(0.5, 7) == 3);
  CHECK(claa::budget_count(0.01, 10) == 0);
  CHECK(claa::budget_count(1.0, 128000) == 128000);
  CHECK(claa::budget_tokens(0.1, 1000, 8) == 100);
  CHECK(claa::budget_tokens(0.29, 100, 8) == 28);  // the same truncation as budget_count
  CHECK(claa::budget_tokens(0.01, 100, 8) == 9);   // int(1.0) = 1 < W + 1
  CHECK(claa::budget_tokens(0.5, 6, 8) == 6);      // never more than the prompt
  CHECK_THROWS_AS(claa::budget_count(-0.1, 10), claa::Error);
}

TEST_CASE("recall, mass recall and NDCG on a hand-computed case", "[metrics]") {
  const std::vector<float> h = {0.9f, 0.1f, 0.8f, 0.2f}, o = {0.5f, 0.4f, 0.05f, 0.05f};
  // topk2(h) = {0, 2}, topk2(O) = {0, 1}.
  CHECK(claa::recall_at_k(h, o, 2) == 0.5);
  const double o0 = o[0], o1 = o[1], o2 = o[2];
  CHECK(near(claa::mass_recall_at_k(h, o, 2), (o0 + o2) / (o0 + o1)));
  CHECK(near(claa::ndcg_at_k(h, o, 2), (o0 + o2 / std::log2(3.0)) / (o0 + o1 / std::log2(3.0))));
  CHECK(claa::recall_at_k(h, o, 4) == 1.0);
  CHECK(near(claa::mass_recall_at_k(h, o, 4), 1.0));
  CHECK_THROWS_AS(claa::recall_at_k(h, o, 0), claa::Error);
  CHECK_THROWS_AS(claa::recall_at_k(h, o, 5), claa::Error);

  // All-tied heuristic: top-2 is {0, 1} by the lower-index rule; the oracle's is {2, 3}.
  const std::vector<float> flat = {1, 1, 1, 1}, late = {0, 0, 1, 1};
  CHECK(claa::recall_at_k(flat, late, 2) == 0.0);
  CHECK(claa::mass_recall_at_k(flat, late, 2) == 0.0);
  CHECK(claa::ndcg_at_k(flat, late, 2) == 0.0);
  // All-zero oracle: ratios with a zero denominator are 0.
  CHECK(claa::mass_recall_at_k(h, {0, 0, 0, 0}, 2) == 0.0);
  CHECK(claa::ndcg_at_k(h, {0, 0, 0, 0}, 2) == 0.0);
}

TEST_CASE("evidence recall: merged spans, beyond-the-cut tokens are missed", "[metrics]") {
  const std::vector<float> h = {0.1f, 0.9f, 0.8f, 0.2f, 0.3f};
  const TokenSpans spans = {{1, 3}, {2, 4}, {6, 8}};  // evidence {1, 2, 3, 6, 7}
  CHECK(near(claa::evidence_recall_at_k(h, 2, spans), 2.0 / 5.0));
  CHECK(near(claa::evidence_recall_at_k(h, 5, spans), 3.0 / 5.0));
  CHECK_THROWS_AS(claa::evidence_recall_at_k(h, 2, {{3, 2}}), claa::Error);
  CHECK_THROWS_AS(claa::evidence_recall_at_k(h, 2, {{-1, 2}}), claa::Error);
  CHECK_THROWS_AS(claa::evidence_recall_at_k(h, 2, {{2, 2}}), claa::Error);

  const std::vector<float> oracle = {0, 1, 2, 3, 4, 5, 6};  // longer: cut to 5
  const claa::RankingMetrics m = claa::compare_rankings(h, oracle, {0.4, 1.0}, spans);
  CHECK(m.k == std::vector<int64_t>{2, 5});
  REQUIRE(m.evidence_recall.size() == 2);
  CHECK(near(m.evidence_recall[0], 0.4));
  CHECK(near(m.evidence_recall[1], 0.6));
  CHECK(claa::compare_rankings(h, oracle, {0.4}).evidence_recall.empty());
  CHECK_THROWS_AS(claa::compare_rankings({}, oracle, {0.5}), claa::Error);
}

TEST_CASE("compare_rankings matches scipy and the Python definitions", "[metrics][golden]") {
  const nlohmann::json fixture = load_fixture("tests/fixtures/metrics/rank_goldens.json");
  REQUIRE(fixture["cases"].size() >= 20);
  for (const auto& c : fixture["cases"]) {
    INFO("case " << c["name"].get<std::string>());
    const std::vector<float> h = floats(c["heuristic"]), o = floats(c["oracle"]);
    TokenSpans spans;
    for (const auto& s : c["evidence_spans"]) spans.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
    const claa::RankingMetrics m = claa::compare_rankings(h, o, c["keep_rates"].get<std::vector<double>>(), spans);
    CHECK(near(m.spearman, c["spearman"].get<double>()));
    CHECK(near(m.kendall, c["kendall"].get<double>()));
    CHECK(m.spearman_degenerate == c["spearman_degenerate"].get<bool>());
    CHECK(m.kendall_degenerate == c["kendall_degenerate"].get<bool>());
    CHECK(m.k == c["k"].get<std::vector<int64_t>>());
    check_all_near(m.recall, c["recall"]);
    check_all_near(m.mass_recall, c["mass_recall"]);
    check_all_near(m.ndcg, c["ndcg"]);
    check_all_near(m.evidence_recall, c["evidence_recall"]);
  }
}

TEST_CASE("long vectors: 128K tokens with ties", "[metrics]") {
  const size_t n = 128 * 1024;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> bucket(0, 999);
  std::vector<float> h(n), o(n);
  for (size_t i = 0; i < n; ++i) {
    o[i] = static_cast<float>(bucket(rng));
    h[i] = o[i] + static_cast<float>(bucket(rng) % 50);
  }
  const claa::RankingMetrics m = claa::compare_rankings(h, o, {0.1, 0.5});
  CHECK(m.spearman > 0.9);
  CHECK(m.kendall > 0.8);
  CHECK(m.recall[1] > 0.8);
  CHECK(claa::compare_rankings(o, o, {0.1}).recall[0] == 1.0);
}

TEST_CASE("aggregation helpers", "[metrics]") {
  const std::vector<double> v = {1, 2, 3, 4};
  CHECK(claa::mean(v) == 2.5);
  CHECK(near(claa::sample_std(v), std::sqrt(5.0 / 3.0)));
  CHECK(near(claa::standard_error(v), std::sqrt(5.0 / 3.0) / 2.0));
  CHECK(claa::sample_std({7.0}) == 0.0);
  CHECK(claa::standard_error({7.0}) == 0.0);
  CHECK(claa::count_below(v, 2.5) == 2);
  CHECK_THROWS_AS(claa::mean({}), claa::Error);
  const claa::Summary s = claa::summarize({0.3, -0.1, 0.5});
  CHECK(s.n == 3);
  CHECK(near(s.mean, 0.7 / 3));
  CHECK(s.min == -0.1);
  CHECK(s.max == 0.5);
  CHECK(near(s.sem, s.stddev / std::sqrt(3.0)));
  CHECK_THROWS_AS(claa::summarize({}), claa::Error);
}

TEST_CASE("a prepared OracleRanking shared by many comparisons gives scipy's values", "[metrics][golden]") {
  // ranking_eval prepares the oracle once per heuristic and compares every layer with it, from
  // several threads; heuristics of N − W entries cut it to a shorter prefix.
  const nlohmann::json fixture = load_fixture("tests/fixtures/metrics/rank_goldens.json");
  for (const auto& c : fixture["cases"]) {
    INFO("case " << c["name"].get<std::string>());
    const std::vector<float> h = floats(c["heuristic"]), o = floats(c["oracle"]);
    const std::vector<double> keep = c["keep_rates"].get<std::vector<double>>();
    TokenSpans spans;
    for (const auto& s : c["evidence_spans"]) spans.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
    const claa::OracleRanking shared(o);
    std::vector<float> shorter(h.begin(), h.end() - (h.size() > 3 ? 2 : 0));
    std::vector<claa::RankingMetrics> got(4), cut(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        got[t] = claa::compare_rankings(h, shared, keep, spans);
        cut[t] = claa::compare_rankings(shorter, shared, keep);
      });
    for (std::thread& t : threads) t.join();
    const claa::RankingMetrics alone = claa::compare_rankings(shorter, o, keep);
    for (int t = 0; t < 4; ++t) {
      CHECK(near(got[t].spearman, c["spearman"].get<double>()));
      CHECK(near(got[t].kendall, c["kendall"].get<double>()));
      CHECK(got[t].spearman_degenerate == c["spearman_degenerate"].get<bool>());
      check_all_near(got[t].recall, c["recall"]);
      check_all_near(got[t].mass_recall, c["mass_recall"]);
      check_all_near(got[t].ndcg, c["ndcg"]);
      check_all_near(got[t].evidence_recall, c["evidence_recall"]);
      CHECK(cut[t].length == alone.length);
      CHECK(cut[t].spearman == alone.spearman);  // the same arithmetic: bit-identical
      CHECK(cut[t].recall == alone.recall);
      CHECK(cut[t].ndcg == alone.ndcg);
    }
  }
}
