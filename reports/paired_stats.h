// Paired comparisons of e2e rows on the same samples (method.md §5 "Paired statistics"): each method ×
// keep against Full KV and against the best baseline at that keep rate, as per-sample score differences.
//
//   Δ        mean over the samples both rows answered of (row − other), in points (100 · score / max);
//            every sample weighs the same (with equal samples per dataset this is the tables' Δ of
//            averages, which weighs datasets equally).
//   CI       percentile bootstrap over those samples (resampling.h; one seed, so every row is resampled alike).
//   p        two-sided paired sign-flip permutation test of Δ = 0 (exact up to 2^n ≤ the resample count).
//   p_holm   Holm's correction over the table (every row of the "vs Full KV" family, or of the "vs best" one;
//            the latter with the family size of every pair of methods at each keep rate, because the best
//            is picked from the same samples: method.md §5a).
//   A row is distinguishable from noise when p_holm < 1 − level.
//
// The best baseline at a keep rate is the method with the highest mean score there, the oracle emulation
// (label "oracle": the ground truth's selection, an upper bound rather than a baseline) left out.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/resampling.h"
#include "reports/e2e_records.h"

namespace claa {

struct PairedComparisons {
  ResamplingOptions options;
  std::vector<PairedDiff> vs_full;                   // every method × keep
  std::vector<PairedDiff> vs_best;                   // every method × keep except the best one itself
  std::vector<std::pair<double, std::string>> best;  // keep → best baseline's method
};

PairedComparisons paired_comparisons(const std::vector<E2eSample>& samples, const ResamplingOptions& options);

nlohmann::ordered_json paired_json(const PairedDiff& d);

}  // namespace claa
