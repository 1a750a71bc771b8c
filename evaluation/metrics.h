// Ranking-quality metrics: how well a heuristic token-importance score vector h agrees with the
// oracle vector O (method.md §3), plus the aggregation helpers the reports use.
//
// Conventions shared by every function here:
//  - Alignment: h and O are aligned from the start and cut to the shorter length N' (window-based
//    heuristics have N−W entries, the oracle N).
//  - Top-k order: scores descending, ties broken towards the lower token index, NaN scores rank last
//    (among NaNs, lower index first). The order is total and deterministic, so top-k for a smaller k is
//    always a prefix of top-k for a larger one.
//  - Correlations that are undefined (a constant vector, fewer than 2 entries, any NaN in the cut
//    vectors) are reported as 0, like the authors' code does with scipy's NaN, and flagged `degenerate`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "evaluation/stats.h"  // mean, sample_std, summarize: the descriptive statistics
#include "selection/budget.h"  // metric_k: the keep rate → k rule

namespace claa {

// ---------------------------------------------------------------------------------------------
// Rank correlations
// ---------------------------------------------------------------------------------------------

struct RankCorr {
  double value = 0.0;       // in [-1, 1]; 0 when degenerate
  bool degenerate = false;  // true when the coefficient is undefined (scipy would return NaN)
};

// Spearman ρ with average ranks for ties (scipy.stats.spearmanr). Inputs are cut to the shorter length.
RankCorr spearman_ex(const std::vector<float>& a, const std::vector<float>& b);
double spearman(const std::vector<float>& a, const std::vector<float>& b);

// Kendall τ-b (tie-corrected; scipy.stats.kendalltau(variant='b')), O(n log n) via Knight's algorithm.
RankCorr kendall_tau_b_ex(const std::vector<float>& a, const std::vector<float>& b);
double kendall_tau_b(const std::vector<float>& a, const std::vector<float>& b);

// Average ranks (1-based, ties share the mean of their positions; scipy.stats.rankdata 'average').
// NaN is not allowed here (the correlation functions check for it first).
std::vector<double> average_ranks(const std::vector<float>& values);

// ---------------------------------------------------------------------------------------------
// Top-k selection
// ---------------------------------------------------------------------------------------------

// All indices of `scores` in ranking order (best first; ties → lower index; NaN last).
std::vector<int64_t> ranking_order(const std::vector<float>& scores);

// The k best indices in ranking order. k is clamped to scores.size(); k < 0 throws claa::Error.
std::vector<int64_t> top_k_indices(const std::vector<float>& scores, int64_t k);

// The keep rate → k rule of the metrics: selection/budget.h metric_k.

// ---------------------------------------------------------------------------------------------
// Top-k agreement metrics (vectors cut to the shorter length; k in [1, N'])
// ---------------------------------------------------------------------------------------------

// |topk(h) ∩ topk(O)| / k.
double recall_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k);

// Σ_{j∈topk(h)} O[j] / Σ_{j∈topk(O)} O[j]. 0 when the denominator is 0 (an all-zero oracle top-k).
// Assumes O >= 0 (attention mass); NaN oracle entries count as 0 mass.
double mass_recall_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k);

// NDCG@k with linear gains gain(j) = O[j]: DCG = Σ_{i<k} O[topk(h)_i] / log2(i+2), normalised by the
// DCG of the oracle's own top-k. 0 when the ideal DCG is 0. Assumes O >= 0; NaN gains count as 0.
double ndcg_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k);

// Evidence token ranges [begin, end) (e.g. RULER needle spans).
using TokenSpans = std::vector<std::pair<int64_t, int64_t>>;

// Share of evidence token indices (the union of the spans, so overlaps count once) that fall in
// topk(h). Evidence indices >= h.size() (beyond the cut) count as missed. Throws claa::Error for a
// span with begin < 0 or end < begin, or when the spans hold no token at all.
double evidence_recall_at_k(const std::vector<float>& heuristic, int64_t k, const TokenSpans& evidence);

// ---------------------------------------------------------------------------------------------
// Everything at once, for a list of keep rates
// ---------------------------------------------------------------------------------------------

struct RankingMetrics {
  int64_t length = 0;  // N' = min(|h|, |O|)
  double spearman = 0.0;
  double kendall = 0.0;
  bool spearman_degenerate = false;
  bool kendall_degenerate = false;
  bool degenerate = false;  // either correlation was degenerate
  // One entry per keep rate, in the order given.
  std::vector<int64_t> k;
  // Tokens the heuristic kept at each keep rate when its allocation differs from k (PyramidKV's
  // per-layer budgets, compare_rankings_allocated); empty when it keeps k.
  std::vector<int64_t> k_kept;
  std::vector<double> recall, mass_recall, ndcg;
  std::vector<double> evidence_recall;  // empty when no evidence spans were given
  // NaN/Inf values among the first N' of each input (fp16/bf16 overflow on long prompts). When
  // either is non-zero nothing else is computed: a ranking of garbage must never reach an average.
  int64_t nonfinite = 0, oracle_nonfinite = 0;
  bool finite() const { return nonfinite == 0 && oracle_nonfinite == 0; }
};

// The oracle's side of the comparisons (its average ranks for ρ, its top-k order and gain prefix
// sums), prepared once and shared by every layer and heuristic compared with it: its sorts are about
// a third of a comparison's time at long contexts. Results are identical to passing the vector.
struct OraclePrefix;  // the oracle cut to its first n values, prepared (metrics.cpp)
class OracleRanking {
 public:
  explicit OracleRanking(std::vector<float> oracle);
  ~OracleRanking();
  OracleRanking(const OracleRanking&) = delete;
  OracleRanking& operator=(const OracleRanking&) = delete;
  const std::vector<float>& values() const { return values_; }
  // Prepared on first use for each cut length n <= values().size(); safe to call from many threads.
  const OraclePrefix& prefix(size_t n) const;

 private:
  std::vector<float> values_;
  mutable std::mutex mutex_;
  mutable std::map<size_t, std::unique_ptr<OraclePrefix>> prefixes_;
};

// Cuts both vectors to N' (must be >= 1, else claa::Error), counts NaN/Inf in each (and stops there
// if there are any, see RankingMetrics::finite), then computes all metrics. Each keep rate
// must be in (0, 1]; k = metric_k(keep, N'). Sorts each vector once, so many keep rates are cheap.
RankingMetrics compare_rankings(const std::vector<float>& heuristic, const std::vector<float>& oracle,
                                const std::vector<double>& keep_rates, const TokenSpans& evidence_spans = {});
RankingMetrics compare_rankings(const std::vector<float>& heuristic, const OracleRanking& oracle,
                                const std::vector<double>& keep_rates, const TokenSpans& evidence_spans = {});

// The same when the heuristic's allocation keeps kept[i] tokens at keep_rates[i] instead of k
// (PyramidKV's per-layer budgets; method.md §6): recall = |top_kept(h) ∩ topk(O)| / k, mass recall
// = Σ_{top_kept(h)} O / Σ_{topk(O)} O and evidence recall use the first kept[i] of h's order; ρ, τ
// and NDCG@k do not depend on the budget and equal compare_rankings'.
RankingMetrics compare_rankings_allocated(const std::vector<float>& heuristic, const std::vector<float>& oracle,
                                          const std::vector<double>& keep_rates, const std::vector<int64_t>& kept,
                                          const TokenSpans& evidence_spans = {});
RankingMetrics compare_rankings_allocated(const std::vector<float>& heuristic, const OracleRanking& oracle,
                                          const std::vector<double>& keep_rates, const std::vector<int64_t>& kept,
                                          const TokenSpans& evidence_spans = {});

}  // namespace claa
