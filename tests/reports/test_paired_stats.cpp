// The e2e report's paired comparisons (reports/paired_stats.h) on a hand-made run whose permutation
// p-values are exact (6 samples: all 2^6 sign patterns) and whose Holm adjustment is worked by hand.
#include <cmath>

#include "reports/paired_stats.h"
#include "tests/catch.h"

namespace {

claa::E2eSample sample(int i, double a, double b, double c) {
  claa::E2eSample s;
  s.id = "s" + std::to_string(i);
  s.dataset = "d";
  s.max_score = 1.0;
  s.results = {{"full", 1.0, 1.0}, {"a", 0.1, a}, {"b", 0.1, b}, {"c", 0.1, c}};
  return s;
}

}  // namespace

TEST_CASE("The e2e comparisons with the best baseline are Holm-adjusted over every pair at the keep rate",
          "[reports][stats][paired]") {
  // a scores 1 everywhere, b 0 everywhere, c 1 on half the samples: a is the best at keep 0.1.
  std::vector<claa::E2eSample> samples;
  for (int i = 0; i < 6; ++i) samples.push_back(sample(i, 1.0, 0.0, i < 3 ? 1.0 : 0.0));
  const claa::PairedComparisons pc = claa::paired_comparisons(samples, claa::ResamplingOptions{});
  REQUIRE(pc.best.size() == 1);
  CHECK(pc.best[0].second == "a");
  REQUIRE(pc.vs_best.size() == 2);
  const claa::PairedDiff& b = pc.vs_best[0].method == "b" ? pc.vs_best[0] : pc.vs_best[1];
  const claa::PairedDiff& c = pc.vs_best[0].method == "b" ? pc.vs_best[1] : pc.vs_best[0];
  // b − a = −100 on all six samples: only the two one-sign patterns are as extreme, p = 2/64.
  CHECK(b.mean == -100.0);
  CHECK(std::abs(b.p - 2.0 / 64) <= 1e-12);
  // c − a = {0, 0, 0, −100, −100, −100}: |mean| ≥ 50 needs the three nonzero signs alike, p = 2/8.
  CHECK(c.mean == -50.0);
  CHECK(std::abs(c.p - 0.25) <= 1e-12);
  // The best was picked from these samples, so the family is every pair of the three methods (M = 3),
  // not the two comparisons made: Holm p = 3 · 2/64 = 0.09375, then max(0.09375, 2 · 0.25) = 0.5.
  CHECK(std::abs(b.p_holm - 3.0 * 2.0 / 64) <= 1e-12);
  CHECK(std::abs(c.p_holm - 0.5) <= 1e-12);
  CHECK_FALSE(b.distinguishable);  // 0.094 ≥ 0.05 (with M = 2 it would have been 0.0625: also not)
  // Against Full KV (one family of the three rows, M = 3): b 0.09375; a and c have p 1 and 0.25.
  for (const claa::PairedDiff& d : pc.vs_full)
    if (d.method == "b") CHECK(std::abs(d.p_holm - 3.0 * 2.0 / 64) <= 1e-12);
}
