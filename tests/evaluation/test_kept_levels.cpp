// The kept-set record of the explorer's token view (evaluation/kept_levels.h): hand-computed cases,
// and on random rankings the sets it records are the ones recall@k counts (metrics.h).
#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "evaluation/kept_levels.h"
#include "evaluation/metrics.h"
#include "selection/budget.h"
#include "tests/catch.h"

using namespace claa;

TEST_CASE("kept levels mark each token with the smallest keep rate that keeps it", "[kept_levels]") {
  // Order: index 1 (0.9), index 3 (0.9, the tie goes to the lower index first), index 0 (0.5), ...
  const std::vector<float> scores = {0.5f, 0.9f, 0.1f, 0.9f, 0.3f};
  CHECK(kept_levels(scores, {1, 3}) == "10.1.");
  CHECK(kept_at_level("10.1.", 0) == std::vector<int64_t>{1});
  CHECK(kept_at_level("10.1.", 1) == std::vector<int64_t>{0, 1, 3});
  CHECK(kept_levels(scores, {0, 5}) == "11111");  // an empty first set; everything at the second
  CHECK(kept_levels(scores, {2, 2}) == ".0.0.");  // equal counts: the second rate adds nothing
  CHECK(kept_levels(scores, {}) == ".....");
  CHECK(kept_levels(scores, {9}) == "00000");           // a count beyond the length keeps everything
  CHECK_THROWS_AS(kept_levels(scores, {3, 1}), Error);  // sets must be nested
  // Past ten rates the digits go on with letters.
  std::vector<int64_t> counts(12);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<int64_t>(i) + 1;
  const std::vector<float> ramp = {12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  CHECK(kept_levels(ramp, counts) == "0123456789ab");
  CHECK(kept_at_level("0123456789ab", 11).size() == 12);
  CHECK(ascending_order({0.4, 0.1, 0.2}) == std::vector<size_t>{1, 2, 0});
}

TEST_CASE("kept sets whose sizes shrink as the rate grows are recorded as one flag string per rate", "[kept_levels]") {
  const std::vector<float> scores = {0.5f, 0.9f, 0.1f, 0.9f, 0.3f};  // order 1, 3, 0, 4, 2
  // Nested sizes: the levels string.
  CHECK(kept_sets(scores, {1, 3}) == nlohmann::json("10.1."));
  CHECK(kept_at(nlohmann::json("10.1."), 1) == std::vector<int64_t>{0, 1, 3});
  // PyramidKV can give a layer fewer slots at the larger rate: flags per rate.
  const nlohmann::json flags = kept_sets(scores, {3, 1});
  CHECK(flags == nlohmann::json({"11.1.", ".1..."}));
  CHECK(kept_at(flags, 0) == std::vector<int64_t>{0, 1, 3});
  CHECK(kept_at(flags, 1) == std::vector<int64_t>{1});
}

TEST_CASE("kept levels hold the sets that recall at k counts, on random rankings with ties", "[kept_levels]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coarse(0, 20);        // few distinct values: many ties
  const std::vector<double> keep_rates = {0.4, 0.1, 0.2};  // not sorted, as a config may give them
  const std::vector<size_t> ascending = ascending_order(keep_rates);
  for (int trial = 0; trial < 20; ++trial) {
    const size_t n = 50 + static_cast<size_t>(trial) * 7;
    std::vector<float> heuristic(n), oracle(n);
    for (size_t i = 0; i < n; ++i) {
      heuristic[i] = static_cast<float>(coarse(rng));
      oracle[i] = static_cast<float>(coarse(rng)) / 7.0f;
    }
    const RankingMetrics m = compare_rankings(heuristic, oracle, keep_rates);
    std::vector<int64_t> counts;
    for (size_t i : ascending) counts.push_back(m.k[i]);
    const std::string h_levels = kept_levels(heuristic, counts), o_levels = kept_levels(oracle, counts);
    for (size_t level = 0; level < ascending.size(); ++level) {
      const std::vector<int64_t> kept = kept_at_level(h_levels, level), wanted = kept_at_level(o_levels, level);
      std::vector<int64_t> both;
      std::set_intersection(kept.begin(), kept.end(), wanted.begin(), wanted.end(), std::back_inserter(both));
      const size_t i = ascending[level];
      INFO("trial " << trial << ", keep " << keep_rates[i]);
      REQUIRE(static_cast<int64_t>(kept.size()) == metric_k(keep_rates[i], static_cast<int64_t>(n)));
      CHECK(static_cast<double>(both.size()) / static_cast<double>(wanted.size()) ==
            Approx(m.recall[i]).epsilon(1e-12));
    }
  }
}
