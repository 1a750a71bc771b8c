// Resampling statistics for comparing methods on the same samples (method.md §5 "Paired statistics"
// and "Predictive validity"): the percentile bootstrap, the paired sign-flip permutation test, Holm's
// step-down correction, Spearman's ρ on doubles and the AUC of a score separating right from wrong
// answers. Each follows the scipy function named beside it, so tools/make_stats_goldens.py can hold
// it to scipy on fixed inputs (tests/evaluation/test_resampling.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

struct ResamplingOptions {
  int64_t bootstrap_resamples = 2000;     // B of the percentile bootstrap
  int64_t permutation_resamples = 10000;  // random sign patterns when 2^n exceeds it (else all 2^n: exact)
  uint64_t seed = 20261206;
  double level = 0.95;  // two-sided confidence level of every interval
};

// {"seed", "bootstrap_resamples", "permutation_resamples", "level"} (run.json "statistics"), and back:
// missing keys keep their defaults.
nlohmann::ordered_json statistics_json(const ResamplingOptions& options);
ResamplingOptions statistics_from_json(const nlohmann::json& j);

struct Interval {
  double low = 0.0, high = 0.0;
  int64_t resamples = 0;  // resamples whose statistic was defined (NaN ones are left out)
};

// The statistic of a resample: `indices` are n draws with replacement from [0, n) (a sample may
// appear several times). Returns NaN where undefined (e.g. a correlation of constants).
using ResampleStatistic = std::function<double(const std::vector<size_t>& indices)>;

// Percentile bootstrap interval (scipy.stats.bootstrap(method="percentile")): B resamples of the n
// samples, the statistic of each, then the (1 − level)/2 and (1 + level)/2 quantiles of those B values
// with linear interpolation (numpy.percentile's default). The same seed gives the same resamples for
// every statistic, so intervals of several methods on the same samples are paired.
Interval bootstrap_interval(size_t n, const ResampleStatistic& statistic, const ResamplingOptions& options);

// Two-sided paired permutation test of mean(a − b) = 0 (scipy.stats.permutation_test with
// permutation_type="samples", statistic mean(x − y)): under the null each pair's difference is as
// likely to have either sign. Exact (all 2^n sign patterns, no +1 adjustment) when 2^n ≤
// permutation_resamples, else that many random patterns with the (count + 1) / (R + 1) estimate.
// p = min(1, 2 · min(P(T ≤ t), P(T ≥ t))), comparisons with scipy's relative tolerance 100 ε |t|.
// a and b must have the same length ≥ 1.
double paired_permutation_p(const std::vector<double>& a, const std::vector<double>& b,
                            const ResamplingOptions& options);

// Holm's step-down adjusted p-values, in the input order: sorted ascending, p_(i) · (m − i + 1), made
// monotone, capped at 1 (statsmodels multipletests(method="holm")). NaN entries stay NaN and are not
// counted in m.
std::vector<double> holm_adjust(const std::vector<double>& p);
// The same step-down over a family of `family_size` hypotheses of which only the non-NaN entries of p were
// tested: adjusted p_(j) = max over i ≤ j of min(1, (M − i + 1) · p_(i)), M = family_size. Controls the
// family-wise error over all M hypotheses even when which ones were tested depends on the data (a "vs best"
// subset: method.md §6 "Paired ρ"). claa::Error when family_size is below the number of non-NaN p.
std::vector<double> holm_adjust(const std::vector<double>& p, size_t family_size);

// Average ranks (1-based, ties get their mean rank) of doubles: scipy.stats.rankdata.
std::vector<double> average_ranks_of(const std::vector<double>& values);
// Spearman's ρ of two equal-length lists (scipy.stats.spearmanr): Pearson's r of the average
// ranks; NaN when either list is constant or has fewer than 2 values.
double spearman_rho(const std::vector<double>& a, const std::vector<double>& b);

// How well `score` separates positives from negatives, pairs taken only within a stratum: over every
// stratum, every (positive i, negative j) pair counts 1 if score_i > score_j, ½ if equal; AUC = that
// sum ÷ the number of pairs (the per-stratum Mann–Whitney U, scipy.stats.mannwhitneyu, summed). NaN
// when no stratum has both a positive and a negative.
// A paired comparison of two methods on the same samples (reports/paired_stats.h says how reports use it).
struct PairedDiff {
  std::string method, against;  // the row's method; the one it is compared with
  double keep = 0.0;
  int64_t n = 0;      // samples both have
  double mean = 0.0;  // Δ = mean over those samples of (method − against)
  Interval ci;
  double p = 1.0, p_holm = 1.0;
  bool distinguishable = false;  // p_holm < 1 − level
};

// One paired comparison of two equal-length lists (a[i] and b[i] from the same sample): Δ = mean(a − b),
// its bootstrap interval and the permutation p (p_holm = p until holm_family runs). NaN Δ when empty.
PairedDiff paired_difference(const std::vector<double>& a, const std::vector<double>& b,
                             const ResamplingOptions& options);
// H (H − 1) / 2: the pairs among H methods, the Holm family when the reference of the comparisons (the
// best) is chosen from the same samples.
size_t all_pairs(size_t methods);
// Holm over a family: fills p_holm and distinguishable (p_holm < 1 − level).
void holm_family(std::vector<PairedDiff>& family, double level);
// Holm over `family_size` hypotheses of which `family` holds those tested (holm_adjust with a family size).
void holm_family(std::vector<PairedDiff>& family, double level, size_t family_size);

struct Labelled {
  double score = 0.0;
  bool positive = false;
  int64_t stratum = 0;
};
double stratified_auc(const std::vector<Labelled>& items);

}  // namespace claa
