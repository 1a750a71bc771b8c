// Ranking-quality metrics (method.md §3). See metrics.h for the conventions.
#include "evaluation/metrics.h"
#include "evaluation/evidence_spans.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace claa {

namespace {

// Length both vectors are cut to.
size_t cut_length(const std::vector<float>& a, const std::vector<float>& b) { return std::min(a.size(), b.size()); }

bool any_nan(const std::vector<float>& v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (std::isnan(v[i])) return true;
  return false;
}

// Strict total order "i ranks before j": higher score first, NaN last, ties → lower index first.
struct RanksBefore {
  const float* s;
  bool operator()(int64_t i, int64_t j) const {
    const float a = s[i], b = s[j];
    const bool nan_a = std::isnan(a), nan_b = std::isnan(b);
    if (nan_a != nan_b) return !nan_a;
    if (!nan_a && a != b) return a > b;
    return i < j;
  }
};

std::vector<int64_t> ranking_order_prefix(const std::vector<float>& scores, size_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), RanksBefore{scores.data()});
  return order;
}

// Gains for mass recall / NDCG: the oracle value, NaN counted as 0.
double gain(float o) { return std::isnan(o) ? 0.0 : static_cast<double>(o); }

// 0 instead of NaN/inf for a ratio with a zero denominator.
double safe_ratio(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

void require_k(int64_t k, size_t n) {
  require(n >= 1, "ranking metrics need non-empty score vectors");
  require(k >= 1 && k <= static_cast<int64_t>(n),
          "top-k size " + std::to_string(k) + " outside [1, " + std::to_string(n) + "]");
}

// Number of pairs among t tied items.
int64_t tie_pairs(int64_t t) { return t * (t - 1) / 2; }

// Sum of tie_pairs over runs of equal values along `order` (values compared with ==).
template <typename Eq>
int64_t count_tie_pairs(size_t n, Eq equal_to_previous) {
  int64_t pairs = 0, run = 1;
  for (size_t i = 1; i < n; ++i) {
    if (equal_to_previous(i)) {
      ++run;
    } else {
      pairs += tie_pairs(run);
      run = 1;
    }
  }
  return pairs + tie_pairs(run);
}

// Sorts `v` ascending with merge sort and returns the number of strict inversions (i < j, v[i] > v[j]).
int64_t merge_sort_inversions(std::vector<float>& v) {
  const size_t n = v.size();
  std::vector<float> buf(n);
  int64_t inversions = 0;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      const size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, out = lo;
      while (i < mid && j < hi) {
        if (v[j] < v[i]) {  // strictly smaller right element jumps over every remaining left one
          inversions += static_cast<int64_t>(mid - i);
          buf[out++] = v[j++];
        } else {
          buf[out++] = v[i++];
        }
      }
      while (i < mid) buf[out++] = v[i++];
      while (j < hi) buf[out++] = v[j++];
    }
    std::swap(v, buf);
  }
  return inversions;
}

// Average ranks of the first n values (1-based, ties share the mean of their positions).
std::vector<double> average_ranks_prefix(const std::vector<float>& values, size_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(n);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    while (end < n && values[order[end]] == values[order[start]]) ++end;
    // Positions start..end-1 (0-based) share rank mean(start+1 .. end) = (start + end + 1) / 2.
    const double rank = 0.5 * static_cast<double>(start + end + 1);
    for (size_t i = start; i < end; ++i) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

// scipy.stats.spearmanr: Pearson correlation of the average ranks (scipy/stats/_stats_py.py).
RankCorr pearson_of_ranks(const std::vector<double>& ra, const std::vector<double>& rb, size_t n) {
  const double mean_rank = 0.5 * static_cast<double>(n + 1);  // exact for average ranks
  long double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double da = ra[i] - mean_rank, db = rb[i] - mean_rank;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa == 0 || sbb == 0) return {0.0, true};  // a constant vector
  const double rho = static_cast<double>(sab / std::sqrt(saa * sbb));
  return {std::clamp(rho, -1.0, 1.0), false};
}

}  // namespace

// The oracle cut to its first n values, with everything the comparisons need from it alone.
struct OraclePrefix {
  size_t n = 0;
  int64_t nonfinite = 0;
  bool has_nan = false;
  std::vector<double> ranks;                    // average ranks (Spearman); empty when has_nan
  std::vector<int64_t> order, pos;              // ranking order; each index's place in it
  std::vector<double> prefix_mass, prefix_dcg;  // Σ gain over the first i of the order; / log2(i+2)

  OraclePrefix(const std::vector<float>& o, size_t length) : n(length) {
    nonfinite = static_cast<int64_t>(
        std::count_if(o.begin(), o.begin() + static_cast<ptrdiff_t>(n), [](float x) { return !std::isfinite(x); }));
    has_nan = any_nan(o, n);
    if (!has_nan) ranks = average_ranks_prefix(o, n);
    order = ranking_order_prefix(o, n);
    pos.assign(n, 0);
    for (size_t i = 0; i < n; ++i) pos[order[i]] = static_cast<int64_t>(i);
    prefix_mass.assign(n + 1, 0.0);
    prefix_dcg.assign(n + 1, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double g = gain(o[order[i]]);
      prefix_mass[i + 1] = prefix_mass[i] + g;
      prefix_dcg[i + 1] = prefix_dcg[i] + g / std::log2(static_cast<double>(i) + 2.0);
    }
  }
};

OracleRanking::OracleRanking(std::vector<float> oracle) : values_(std::move(oracle)) {}
OracleRanking::~OracleRanking() = default;

const OraclePrefix& OracleRanking::prefix(size_t n) const {
  require(n <= values_.size(), "oracle prefix longer than the oracle");
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<OraclePrefix>& p = prefixes_[n];
  if (!p) p = std::make_unique<OraclePrefix>(values_, n);
  return *p;
}

namespace {

// The heuristic's side of the top-k metrics against a prepared oracle prefix.
struct Prepared {
  const OraclePrefix& oracle;
  size_t n = 0;
  std::vector<int64_t> order_h, pos_h;
  std::vector<double> prefix_mass_h, prefix_dcg_h;  // Σ oracle gain over the first i of h's order; / log2(i+2)
  std::vector<int64_t> prefix_common;               // |topi(h) ∩ topi(O)| for i = 0..n

  Prepared(const std::vector<float>& h, const std::vector<float>& o, const OraclePrefix& op) : oracle(op), n(op.n) {
    order_h = ranking_order_prefix(h, n);
    prefix_mass_h.assign(n + 1, 0.0);
    prefix_dcg_h.assign(n + 1, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double discount = std::log2(static_cast<double>(i) + 2.0);
      const double gh = gain(o[order_h[i]]);
      prefix_mass_h[i + 1] = prefix_mass_h[i] + gh;
      prefix_dcg_h[i + 1] = prefix_dcg_h[i] + gh / discount;
    }
    // Index j is in both top-i sets iff max(pos_h[j], pos_o[j]) < i: histogram that maximum.
    pos_h.assign(n, 0);
    std::vector<int64_t> first_shared_at(n + 1, 0);
    for (size_t i = 0; i < n; ++i) pos_h[order_h[i]] = static_cast<int64_t>(i);
    for (size_t j = 0; j < n; ++j) ++first_shared_at[std::max(pos_h[j], op.pos[j]) + 1];
    prefix_common.assign(n + 1, 0);
    for (size_t i = 1; i <= n; ++i) prefix_common[i] = prefix_common[i - 1] + first_shared_at[i];
  }

  double recall(int64_t k) const { return static_cast<double>(prefix_common[k]) / static_cast<double>(k); }
  double mass_recall(int64_t k) const { return safe_ratio(prefix_mass_h[k], oracle.prefix_mass[k]); }
  // The heuristic keeps kh tokens, the oracle's set is its top k.
  double recall(int64_t kh, int64_t k) const {
    if (kh == k) return recall(k);
    int64_t common = 0;
    for (size_t j = 0; j < n; ++j) common += pos_h[j] < kh && oracle.pos[j] < k;
    return static_cast<double>(common) / static_cast<double>(k);
  }
  double mass_recall(int64_t kh, int64_t k) const { return safe_ratio(prefix_mass_h[kh], oracle.prefix_mass[k]); }
  double ndcg(int64_t k) const { return safe_ratio(prefix_dcg_h[k], oracle.prefix_dcg[k]); }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rank correlations
// ---------------------------------------------------------------------------------------------

std::vector<double> average_ranks(const std::vector<float>& values) {
  return average_ranks_prefix(values, values.size());
}

RankCorr spearman_ex(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = cut_length(a, b);
  if (n < 2 || any_nan(a, n) || any_nan(b, n)) return {0.0, true};
  return pearson_of_ranks(average_ranks_prefix(a, n), average_ranks_prefix(b, n), n);
}

double spearman(const std::vector<float>& a, const std::vector<float>& b) { return spearman_ex(a, b).value; }

// Kendall τ-b via Knight's O(n log n) algorithm, following scipy.stats.kendalltau
// (scipy/stats/_stats_py.py): sort by (a, b); count ties in a and joint ties in that order; the
// discordant pairs are the strict inversions of b in that order (merge sort); ties in b come from the
// sorted b. τ_b = (tot − xtie − ytie + ntie − 2·dis) / sqrt(tot − xtie) / sqrt(tot − ytie).
RankCorr kendall_tau_b_ex(const std::vector<float>& a, const std::vector<float>& b) {
  const size_t n = cut_length(a, b);
  if (n < 2 || any_nan(a, n) || any_nan(b, n)) return {0.0, true};
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return a[i] != a[j] ? a[i] < a[j] : b[i] < b[j]; });
  const int64_t xtie = count_tie_pairs(n, [&](size_t i) { return a[order[i]] == a[order[i - 1]]; });
  const int64_t ntie =
      count_tie_pairs(n, [&](size_t i) { return a[order[i]] == a[order[i - 1]] && b[order[i]] == b[order[i - 1]]; });
  std::vector<float> b_sorted(n);
  for (size_t i = 0; i < n; ++i) b_sorted[i] = b[order[i]];
  const int64_t dis = merge_sort_inversions(b_sorted);  // leaves b_sorted ascending
  const int64_t ytie = count_tie_pairs(n, [&](size_t i) { return b_sorted[i] == b_sorted[i - 1]; });

  const int64_t tot = tie_pairs(static_cast<int64_t>(n));
  if (xtie == tot || ytie == tot) return {0.0, true};  // a constant vector
  const auto con_minus_dis = static_cast<double>(tot - xtie - ytie + ntie - 2 * dis);
  const double tau =
      con_minus_dis / std::sqrt(static_cast<double>(tot - xtie)) / std::sqrt(static_cast<double>(tot - ytie));
  return {std::clamp(tau, -1.0, 1.0), false};
}

double kendall_tau_b(const std::vector<float>& a, const std::vector<float>& b) { return kendall_tau_b_ex(a, b).value; }

// ---------------------------------------------------------------------------------------------
// Top-k selection and keep-rate → k
// ---------------------------------------------------------------------------------------------

std::vector<int64_t> ranking_order(const std::vector<float>& scores) {
  return ranking_order_prefix(scores, scores.size());
}

std::vector<int64_t> top_k_indices(const std::vector<float>& scores, int64_t k) {
  require(k >= 0, "top-k size must be non-negative, got " + std::to_string(k));
  const auto n = static_cast<int64_t>(scores.size());
  k = std::min(k, n);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  const RanksBefore before{scores.data()};
  if (k < n) std::nth_element(order.begin(), order.begin() + k, order.end(), before);
  order.resize(k);
  std::sort(order.begin(), order.end(), before);
  return order;
}

// ---------------------------------------------------------------------------------------------
// Top-k agreement metrics
// ---------------------------------------------------------------------------------------------

double recall_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k) {
  require_k(k, cut_length(heuristic, oracle));
  const OraclePrefix op(oracle, cut_length(heuristic, oracle));
  return Prepared(heuristic, oracle, op).recall(k);
}

double mass_recall_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k) {
  require_k(k, cut_length(heuristic, oracle));
  const OraclePrefix op(oracle, cut_length(heuristic, oracle));
  return Prepared(heuristic, oracle, op).mass_recall(k);
}

double ndcg_at_k(const std::vector<float>& heuristic, const std::vector<float>& oracle, int64_t k) {
  require_k(k, cut_length(heuristic, oracle));
  const OraclePrefix op(oracle, cut_length(heuristic, oracle));
  return Prepared(heuristic, oracle, op).ndcg(k);
}

double evidence_recall_at_k(const std::vector<float>& heuristic, int64_t k, const TokenSpans& evidence) {
  require_k(k, heuristic.size());
  const TokenSpans merged = merge_spans(evidence);
  require(!merged.empty(), "evidence recall needs at least one non-empty evidence span");
  return evidence_share(selection_mask(top_k_indices(heuristic, k), k, heuristic.size()), merged);
}

namespace {

// kept: the heuristic's count per keep rate, or empty for k itself.
RankingMetrics compare(const std::vector<float>& heuristic, const OracleRanking& oracle_ranking,
                       const std::vector<double>& keep_rates, const std::vector<int64_t>& kept,
                       const TokenSpans& evidence_spans) {
  const std::vector<float>& oracle = oracle_ranking.values();
  const size_t n = cut_length(heuristic, oracle);
  require(n >= 1, "compare_rankings needs non-empty heuristic and oracle vectors");
  const OraclePrefix& op = oracle_ranking.prefix(n);
  RankingMetrics m;
  m.length = static_cast<int64_t>(n);
  m.nonfinite = static_cast<int64_t>(std::count_if(heuristic.begin(), heuristic.begin() + static_cast<ptrdiff_t>(n),
                                                   [](float x) { return !std::isfinite(x); }));
  m.oracle_nonfinite = op.nonfinite;
  if (!m.finite()) return m;
  const RankCorr rho = n < 2 || any_nan(heuristic, n) || op.has_nan
                           ? RankCorr{0.0, true}
                           : pearson_of_ranks(average_ranks_prefix(heuristic, n), op.ranks, n);
  const RankCorr tau = kendall_tau_b_ex(heuristic, oracle);
  m.spearman = rho.value;
  m.kendall = tau.value;
  m.spearman_degenerate = rho.degenerate;
  m.kendall_degenerate = tau.degenerate;
  m.degenerate = rho.degenerate || tau.degenerate;

  const Prepared prepared(heuristic, oracle, op);
  const TokenSpans merged = merge_spans(evidence_spans);
  for (size_t i = 0; i < keep_rates.size(); ++i) {
    const int64_t k = metric_k(keep_rates[i], m.length);
    const int64_t kh = kept.empty() ? k : std::clamp<int64_t>(kept[i], 0, m.length);
    m.k.push_back(k);
    if (!kept.empty()) m.k_kept.push_back(kh);
    m.recall.push_back(prepared.recall(kh, k));
    m.mass_recall.push_back(prepared.mass_recall(kh, k));
    m.ndcg.push_back(prepared.ndcg(k));
    if (!merged.empty()) m.evidence_recall.push_back(evidence_share(selection_mask(prepared.order_h, kh, n), merged));
  }
  return m;
}

}  // namespace

RankingMetrics compare_rankings(const std::vector<float>& heuristic, const OracleRanking& oracle,
                                const std::vector<double>& keep_rates, const TokenSpans& evidence_spans) {
  return compare(heuristic, oracle, keep_rates, {}, evidence_spans);
}

RankingMetrics compare_rankings(const std::vector<float>& heuristic, const std::vector<float>& oracle,
                                const std::vector<double>& keep_rates, const TokenSpans& evidence_spans) {
  return compare(heuristic, OracleRanking(oracle), keep_rates, {}, evidence_spans);
}

RankingMetrics compare_rankings_allocated(const std::vector<float>& heuristic, const OracleRanking& oracle,
                                          const std::vector<double>& keep_rates, const std::vector<int64_t>& kept,
                                          const TokenSpans& evidence_spans) {
  require(kept.size() == keep_rates.size(), "compare_rankings_allocated: one kept count per keep rate");
  return compare(heuristic, oracle, keep_rates, kept, evidence_spans);
}

RankingMetrics compare_rankings_allocated(const std::vector<float>& heuristic, const std::vector<float>& oracle,
                                          const std::vector<double>& keep_rates, const std::vector<int64_t>& kept,
                                          const TokenSpans& evidence_spans) {
  return compare_rankings_allocated(heuristic, OracleRanking(oracle), keep_rates, kept, evidence_spans);
}

}  // namespace claa
