// Resampling statistics against scipy / statsmodels (tools/make_stats_goldens.py) and hand-computed
// cases: bootstrap intervals within the stated Monte-Carlo error, exact permutation p-values equal,
// Holm, Spearman and the stratified AUC within 1e-12.
#include <cmath>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "evaluation/resampling.h"
#include "tests/catch.h"

namespace {

nlohmann::json goldens() {
  std::ifstream in(source_path("tests/fixtures/metrics/resampling_goldens.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<double> doubles(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

double mean_at(const std::vector<double>& x, const std::vector<size_t>& idx) {
  double s = 0;
  for (size_t i : idx) s += x[i];
  return s / static_cast<double>(idx.size());
}

}  // namespace

TEST_CASE("Percentile bootstrap intervals match scipy within Monte-Carlo error", "[stats]") {
  const nlohmann::json g = goldens();
  claa::ResamplingOptions o;
  o.bootstrap_resamples = g["meta"]["test_resamples"].get<int64_t>();
  o.level = g["meta"]["level"].get<double>();
  for (const auto& c : g["bootstrap"]) {
    std::vector<std::vector<double>> cols;
    for (const auto& col : c["columns"]) cols.push_back(doubles(col));
    const size_t n = cols[0].size();
    claa::ResampleStatistic stat;
    if (c["statistic"] == "mean") {
      stat = [&](const std::vector<size_t>& idx) { return mean_at(cols[0], idx); };
    } else {
      REQUIRE(c["statistic"] == "spearman");
      stat = [&](const std::vector<size_t>& idx) {
        std::vector<double> a, b;
        for (size_t i : idx) a.push_back(cols[0][i]), b.push_back(cols[1][i]);
        return claa::spearman_rho(a, b);
      };
    }
    const claa::Interval ci = claa::bootstrap_interval(n, stat, o);
    INFO(c["name"].get<std::string>() << ": claa [" << ci.low << ", " << ci.high << "], scipy [" << c["low"] << ", "
                                      << c["high"] << "]");
    CHECK(std::abs(ci.low - c["low"].get<double>()) <= 4 * c["low_mc_error"].get<double>());
    CHECK(std::abs(ci.high - c["high"].get<double>()) <= 4 * c["high_mc_error"].get<double>());
    CHECK(ci.resamples == o.bootstrap_resamples);
  }
}

TEST_CASE("Bootstrap with one seed draws the same resamples for every statistic", "[stats]") {
  claa::ResamplingOptions o;
  o.bootstrap_resamples = 500;
  std::vector<std::vector<size_t>> first, second;
  claa::bootstrap_interval(
      7,
      [&](const std::vector<size_t>& idx) {
        first.push_back(idx);
        return 0.0;
      },
      o);
  claa::bootstrap_interval(
      7,
      [&](const std::vector<size_t>& idx) {
        second.push_back(idx);
        return 1.0;
      },
      o);
  CHECK(first == second);
  // Undefined resamples are left out and counted.
  int calls = 0;
  const claa::Interval ci = claa::bootstrap_interval(
      5, [&](const std::vector<size_t>&) { return ++calls % 2 ? std::numeric_limits<double>::quiet_NaN() : 2.0; }, o);
  CHECK(ci.resamples == 250);
  CHECK(ci.low == 2.0);
  CHECK(ci.high == 2.0);
}

TEST_CASE("Paired permutation p-values equal scipy's exact ones and its Monte-Carlo ones within error", "[stats]") {
  const nlohmann::json g = goldens();
  for (const auto& c : g["permutation"]) {
    claa::ResamplingOptions o;
    o.permutation_resamples = c["resamples"].get<int64_t>();
    const double p = claa::paired_permutation_p(doubles(c["a"]), doubles(c["b"]), o);
    INFO(c["name"].get<std::string>() << ": claa " << p << ", scipy " << c["p"]);
    if (c["exact"].get<bool>())
      CHECK(std::abs(p - c["p"].get<double>()) <= 1e-12);
    else
      CHECK(std::abs(p - c["p"].get<double>()) <= 4 * c["mc_error"].get<double>());
  }
  // Hand-computed: differences (1, 2, 3): of the 8 sign patterns the means ≥ 2 (observed) are only
  // (+,+,+); P(T ≥ t) = 1/8, so p = 2/8.
  CHECK(claa::paired_permutation_p({1, 2, 3}, {0, 0, 0}, {}) == Approx(0.25).epsilon(1e-15));
  CHECK_THROWS_AS(claa::paired_permutation_p({1, 2}, {1}, {}), claa::Error);
}

TEST_CASE("Holm's adjusted p-values match statsmodels", "[stats]") {
  const nlohmann::json g = goldens();
  for (const auto& c : g["holm"]) {
    const std::vector<double> adj = claa::holm_adjust(doubles(c["p"])), want = doubles(c["adjusted"]);
    REQUIRE(adj.size() == want.size());
    for (size_t i = 0; i < adj.size(); ++i) CHECK(std::abs(adj[i] - want[i]) <= 1e-12);
  }
  // NaN entries are skipped and not counted: m = 2 here.
  const auto adj = claa::holm_adjust({0.01, std::numeric_limits<double>::quiet_NaN(), 0.04});
  CHECK(adj[0] == Approx(0.02));
  CHECK(std::isnan(adj[1]));
  CHECK(adj[2] == Approx(0.04));
}

TEST_CASE("Holm over a family larger than the p-values tested", "[stats]") {
  // M = 10: 10 · 0.001 = 0.01, 9 · 0.01 = 0.09, 8 · 0.04 = 0.32 (each already above the one before).
  const auto adj = claa::holm_adjust({0.04, 0.001, 0.01}, 10);
  CHECK(adj[0] == Approx(0.32).epsilon(1e-12));
  CHECK(adj[1] == Approx(0.01).epsilon(1e-12));
  CHECK(adj[2] == Approx(0.09).epsilon(1e-12));
  // Monotone and capped: M = 5, {0.02, 0.021, 0.5} → 0.1, max(0.1, 4 · 0.021 = 0.084) = 0.1, min(1, 3 · 0.5) = 1;
  // the NaN is neither adjusted nor counted among the tested.
  const auto capped = claa::holm_adjust({0.5, std::numeric_limits<double>::quiet_NaN(), 0.021, 0.02}, 5);
  CHECK(capped[0] == 1.0);
  CHECK(std::isnan(capped[1]));
  CHECK(capped[2] == Approx(0.1).epsilon(1e-12));
  CHECK(capped[3] == Approx(0.1).epsilon(1e-12));
  // M = the number tested is plain Holm; a family smaller than that is refused.
  CHECK(claa::holm_adjust({0.01, 0.04}, 2) == claa::holm_adjust({0.01, 0.04}));
  CHECK_THROWS_AS(claa::holm_adjust({0.01, 0.04}, 1), claa::Error);
}

TEST_CASE("Spearman rho on doubles matches scipy", "[stats]") {
  const nlohmann::json g = goldens();
  for (const auto& c : g["spearman"])
    CHECK(std::abs(claa::spearman_rho(doubles(c["a"]), doubles(c["b"])) - c["rho"].get<double>()) <= 1e-12);
  CHECK(std::isnan(claa::spearman_rho({1, 1, 1}, {1, 2, 3})));
  CHECK(std::isnan(claa::spearman_rho({1}, {2})));
}

TEST_CASE("Stratified AUC matches scipy's Mann-Whitney U summed over strata", "[stats]") {
  const nlohmann::json g = goldens();
  for (const auto& c : g["auc"]) {
    std::vector<claa::Labelled> items;
    for (const auto& it : c["items"])
      items.push_back({it["score"].get<double>(), it["positive"].get<bool>(), it["stratum"].get<int64_t>()});
    const double auc = claa::stratified_auc(items);
    if (c["auc"].is_null())
      CHECK(std::isnan(auc));
    else
      CHECK(std::abs(auc - c["auc"].get<double>()) <= 1e-12);
  }
  // Hand-computed: pairs only within a stratum. Stratum 0: positive 0.9 vs negatives 0.5, 0.9 → 1 + ½;
  // stratum 1: positive 0.1 vs negative 0.2 → 0. The 0.9-vs-0.2 pair across strata does not count.
  const std::vector<claa::Labelled> hand = {
      {0.9, true, 0}, {0.5, false, 0}, {0.9, false, 0}, {0.1, true, 1}, {0.2, false, 1}};
  CHECK(claa::stratified_auc(hand) == Approx(1.5 / 3));
}
