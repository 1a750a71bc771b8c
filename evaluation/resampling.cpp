#include "evaluation/resampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "datasets/rng.h"

namespace claa {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// numpy.percentile(values, q) with the default "linear" method: position q/100 · (n − 1) in the sorted
// values, interpolated between its two neighbours.
double percentile_linear(const std::vector<double>& sorted, double q) {
  const double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

double mean_of_signed(const std::vector<double>& d, const std::vector<int8_t>& sign) {
  double s = 0.0;
  for (size_t i = 0; i < d.size(); ++i) s += sign[i] * d[i];
  return s / static_cast<double>(d.size());
}

}  // namespace

nlohmann::ordered_json statistics_json(const ResamplingOptions& o) {
  return {{"seed", o.seed},
          {"bootstrap_resamples", o.bootstrap_resamples},
          {"permutation_resamples", o.permutation_resamples},
          {"level", o.level}};
}

ResamplingOptions statistics_from_json(const nlohmann::json& j) {
  ResamplingOptions o;
  if (!j.is_object()) return o;
  o.seed = j.value("seed", o.seed);
  o.bootstrap_resamples = j.value("bootstrap_resamples", o.bootstrap_resamples);
  o.permutation_resamples = j.value("permutation_resamples", o.permutation_resamples);
  o.level = j.value("level", o.level);
  return o;
}

Interval bootstrap_interval(size_t n, const ResampleStatistic& statistic, const ResamplingOptions& options) {
  require(n > 0, "bootstrap: no samples");
  require(options.bootstrap_resamples > 1, "bootstrap: needs at least 2 resamples");
  require(options.level > 0 && options.level < 1, "bootstrap: the confidence level must lie in (0, 1)");
  Rng rng(options.seed);
  std::vector<double> values;
  values.reserve(static_cast<size_t>(options.bootstrap_resamples));
  std::vector<size_t> indices(n);
  for (int64_t b = 0; b < options.bootstrap_resamples; ++b) {
    for (size_t& i : indices) i = rng.index(n);
    const double v = statistic(indices);
    if (std::isfinite(v)) values.push_back(v);
  }
  Interval out;
  out.resamples = static_cast<int64_t>(values.size());
  if (values.size() < 2) {
    out.low = out.high = kNaN;
    return out;
  }
  std::sort(values.begin(), values.end());
  const double alpha = (1.0 - options.level) / 2.0;
  out.low = percentile_linear(values, 100.0 * alpha);
  out.high = percentile_linear(values, 100.0 * (1.0 - alpha));
  return out;
}

double paired_permutation_p(const std::vector<double>& a, const std::vector<double>& b,
                            const ResamplingOptions& options) {
  require(a.size() == b.size() && !a.empty(), "permutation test: needs two equal-length, non-empty lists");
  const size_t n = a.size();
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  std::vector<int8_t> sign(n, 1);
  const double observed = mean_of_signed(d, sign);
  const double gamma = std::abs(100 * std::numeric_limits<double>::epsilon() * observed);

  int64_t less = 0, greater = 0, total = 0;
  auto count = [&](double t) {
    less += t <= observed + gamma;
    greater += t >= observed - gamma;
    ++total;
  };
  const bool exact = n < 62 && (int64_t{1} << n) <= options.permutation_resamples;
  int64_t adjustment = 0;
  if (exact) {
    for (int64_t pattern = 0; pattern < (int64_t{1} << n); ++pattern) {
      for (size_t i = 0; i < n; ++i) sign[i] = (pattern >> i) & 1 ? -1 : 1;
      count(mean_of_signed(d, sign));
    }
  } else {
    Rng rng(options.seed);
    const double n_double = static_cast<double>(n);
    for (int64_t r = 0; r < options.permutation_resamples; ++r) {
      // mean_of_signed with a random sign per pair, in one branch-free pass (±1.0 · d is exact, so the
      // sums are bit for bit those of the two-pass form: the same p for the same seed).
      double s = 0.0;
      for (size_t i = 0; i < n; ++i) s += (1.0 - 2.0 * static_cast<double>(rng.next() & 1)) * d[i];
      count(s / n_double);
    }
    adjustment = 1;  // the observed pattern counts as one of the resamples (scipy, Phipson & Smyth)
  }
  const double denom = static_cast<double>(total + adjustment);
  const double p_less = static_cast<double>(less + adjustment) / denom;
  const double p_greater = static_cast<double>(greater + adjustment) / denom;
  return std::min(1.0, 2.0 * std::min(p_less, p_greater));
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  size_t tested = 0;
  for (double v : p) tested += std::isnan(v) ? 0 : 1;
  return holm_adjust(p, tested);
}

std::vector<double> holm_adjust(const std::vector<double>& p, size_t family_size) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  require(family_size >= order.size(), "Holm: the family is smaller than the number of p-values");
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] < p[y]; });
  std::vector<double> out(p.size(), kNaN);
  const double m = static_cast<double>(family_size);
  double running = 0.0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(rank)) * p[order[rank]]));
    out[order[rank]] = running;
  }
  return out;
}

std::vector<double> average_ranks_of(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return values[x] < values[y]; });
  std::vector<double> ranks(values.size());
  for (size_t start = 0; start < order.size();) {
    size_t end = start + 1;
    while (end < order.size() && values[order[end]] == values[order[start]]) ++end;
    const double rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2.0;
    for (size_t k = start; k < end; ++k) ranks[order[k]] = rank;
    start = end;
  }
  return ranks;
}

double spearman_rho(const std::vector<double>& a, const std::vector<double>& b) {
  require(a.size() == b.size(), "spearman: the two lists differ in length");
  if (a.size() < 2) return kNaN;
  const std::vector<double> ra = average_ranks_of(a), rb = average_ranks_of(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa == 0 || sbb == 0) return kNaN;
  return sab / std::sqrt(saa * sbb);
}

double stratified_auc(const std::vector<Labelled>& items) {
  std::vector<const Labelled*> sorted;
  for (const Labelled& x : items) sorted.push_back(&x);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Labelled* x, const Labelled* y) { return x->stratum < y->stratum; });
  double wins = 0, pairs = 0;
  for (size_t start = 0; start < sorted.size();) {
    size_t end = start;
    while (end < sorted.size() && sorted[end]->stratum == sorted[start]->stratum) ++end;
    for (size_t i = start; i < end; ++i) {
      if (!sorted[i]->positive) continue;
      for (size_t j = start; j < end; ++j) {
        if (sorted[j]->positive) continue;
        pairs += 1;
        wins += sorted[i]->score > sorted[j]->score ? 1.0 : sorted[i]->score == sorted[j]->score ? 0.5 : 0.0;
      }
    }
    start = end;
  }
  return pairs > 0 ? wins / pairs : kNaN;
}

PairedDiff paired_difference(const std::vector<double>& a, const std::vector<double>& b, const ResamplingOptions& o) {
  PairedDiff d;
  d.n = static_cast<int64_t>(a.size());
  if (a.empty()) {
    d.mean = d.p = d.p_holm = std::numeric_limits<double>::quiet_NaN();
    d.ci.low = d.ci.high = d.mean;
    return d;
  }
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] - b[i];
  d.mean = sum / static_cast<double>(a.size());
  d.ci = bootstrap_interval(
      a.size(),
      [&](const std::vector<size_t>& idx) {
        double s = 0;
        for (size_t i : idx) s += a[i] - b[i];
        return s / static_cast<double>(idx.size());
      },
      o);
  d.p = d.p_holm = paired_permutation_p(a, b, o);
  return d;
}

size_t all_pairs(size_t methods) { return methods < 2 ? 0 : methods * (methods - 1) / 2; }

void holm_family(std::vector<PairedDiff>& family, double level) {
  size_t tested = 0;
  for (const PairedDiff& d : family) tested += std::isnan(d.p) ? 0 : 1;
  holm_family(family, level, tested);
}

void holm_family(std::vector<PairedDiff>& family, double level, size_t family_size) {
  std::vector<double> p;
  for (const PairedDiff& d : family) p.push_back(d.p);
  const std::vector<double> adjusted = holm_adjust(p, family_size);
  for (size_t i = 0; i < family.size(); ++i) {
    family[i].p_holm = adjusted[i];
    family[i].distinguishable = adjusted[i] < 1.0 - level;
  }
}

}  // namespace claa
