// Paired comparisons of Spearman ρ in rank reports: each heuristics table (overall, per category, per
// dataset) and the per-layer ρ table against their best heuristic (rules in aggregate.h RhoComparison).
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "core/parallel.h"
#include "reports/aggregate.h"

namespace claa {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// [heuristic (RunAggregate::heuristics order)][sample][layer] → ρ; NaN where absent or left out
// (an empty answer, a layer with NaN/Inf scores or oracle values, a NaN ρ): the values the tables average.
using RhoValues = std::vector<std::vector<std::vector<double>>>;

RhoValues rho_values(const std::vector<SampleRecord>& samples, const RunAggregate& agg) {
  std::map<std::string, size_t> index;
  for (size_t h = 0; h < agg.heuristics.size(); ++h) index[agg.heuristics[h].name] = h;
  RhoValues values(agg.heuristics.size(),
                   std::vector<std::vector<double>>(samples.size(), std::vector<double>(agg.n_layers, kNaN)));
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].empty_answer) continue;
    for (const HeuristicRecord& h : samples[i].heuristics)
      for (size_t l = 0; l < h.layers.size() && l < static_cast<size_t>(agg.n_layers); ++l) {
        const LayerRecord& r = h.layers[l];
        if (r.nonfinite > 0 || r.oracle_nonfinite > 0) continue;
        values[index.at(h.name)][i][l] = r.spearman;
      }
  }
  return values;
}

// A sample's mean ρ over the layers it has (NaN: none).
double layer_mean(const std::vector<double>& rho) {
  double sum = 0;
  int n = 0;
  for (double v : rho)
    if (!std::isnan(v)) sum += v, ++n;
  return n > 0 ? sum / n : kNaN;
}

// Δ of a (row) against b (best) on the samples both have, each sample scaled by N / (D · n_d) so that
// the plain mean of the scaled differences is the mean over datasets of each dataset's mean difference.
PairedDiff dataset_weighted(const std::vector<double>& a, const std::vector<double>& b,
                            const std::vector<std::string>& dataset, const ResamplingOptions& o) {
  std::vector<size_t> both;
  std::map<std::string, int64_t> per_dataset;
  for (size_t i = 0; i < a.size(); ++i)
    if (!std::isnan(a[i]) && !std::isnan(b[i])) both.push_back(i), ++per_dataset[dataset[i]];
  const double n = static_cast<double>(both.size()), datasets = static_cast<double>(per_dataset.size());
  std::vector<double> x, y;
  for (size_t i : both) {
    const double scale = n / (datasets * static_cast<double>(per_dataset[dataset[i]]));  // 1 with equal n_d
    x.push_back(scale * a[i]);
    y.push_back(scale * b[i]);
  }
  return paired_difference(x, y, o);
}

// The table's heuristics with data and its best one (the highest of `shown`, the first on ties).
struct TablePlan {
  std::vector<size_t> rows;  // heuristic indices with data
  size_t best = 0;
  bool empty() const { return rows.empty(); }
};

TablePlan plan(const std::vector<double>& shown, const std::vector<bool>& has_data) {
  TablePlan p;
  for (size_t h = 0; h < shown.size(); ++h)
    if (has_data[h]) {
      if (p.rows.empty() || shown[h] > shown[p.best]) p.best = h;
      p.rows.push_back(h);
    }
  return p;
}

// ⌈4 M / (1 − level)⌉: the Monte Carlo count at which Holm over M hypotheses reaches (1 − level) / 2.
double needed_permutations(const ResamplingOptions& options, size_t family_size) {
  return std::ceil(4.0 * static_cast<double>(family_size) / (1.0 - options.level));
}

// Per sample: the value of heuristic h in a table (NaN outside the scope).
using ValueOf = std::function<double(size_t h, size_t sample)>;

// The table's comparisons of every other heuristic with its best, Holm over all pairs of its heuristics
// (aggregate.h RhoComparison), with the family's permutation count. `o`: report.statistics as configured.
PairedTable fill(const std::string& scope, int layer, const TablePlan& p, const RunAggregate& agg, const ValueOf& value,
                 size_t n_samples, const std::vector<std::string>& dataset, const ResamplingOptions& o) {
  PairedTable t;
  t.scope = scope;
  t.layer = layer;
  t.family_size = all_pairs(p.rows.size());
  t.permutations = family_permutations(o, t.family_size);
  t.permutations_capped = family_permutations_capped(o, t.family_size);
  if (p.empty()) return t;
  ResamplingOptions table_options = o;
  table_options.permutation_resamples = t.permutations;
  t.best = agg.heuristics[p.best].name;
  std::vector<double> best(n_samples);
  for (size_t i = 0; i < n_samples; ++i) best[i] = value(p.best, i);
  for (size_t h : p.rows) {
    if (h == p.best) continue;
    std::vector<double> a(n_samples);
    for (size_t i = 0; i < n_samples; ++i) a[i] = value(h, i);
    PairedDiff d = dataset_weighted(a, best, dataset, table_options);
    d.method = agg.heuristics[h].name;
    d.against = t.best;
    t.vs_best.push_back(std::move(d));
  }
  holm_family(t.vs_best, o.level, t.family_size);
  return t;
}

}  // namespace

int64_t family_permutations(const ResamplingOptions& options, size_t family_size) {
  const double raised =
      std::min(needed_permutations(options, family_size), static_cast<double>(kMaxFamilyPermutations));
  return std::max(options.permutation_resamples, static_cast<int64_t>(raised));
}

bool family_permutations_capped(const ResamplingOptions& options, size_t family_size) {
  return static_cast<double>(family_permutations(options, family_size)) < needed_permutations(options, family_size);
}

RhoComparison compare_rho(const std::vector<SampleRecord>& samples, const RunAggregate& agg,
                          const ResamplingOptions& options) {
  RhoComparison out;
  out.options = options;
  const RhoValues rho = rho_values(samples, agg);
  std::vector<std::string> dataset;
  for (const SampleRecord& s : samples) dataset.push_back(s.dataset);

  // Per sample and heuristic, the mean over layers (the heuristics tables' per-sample value).
  std::vector<std::vector<double>> mean_rho(rho.size(), std::vector<double>(samples.size()));
  for (size_t h = 0; h < rho.size(); ++h)
    for (size_t i = 0; i < samples.size(); ++i) mean_rho[h][i] = layer_mean(rho[h][i]);

  auto scope_table = [&](const ScopeAggregate& scope) {
    const std::set<std::string> in(scope.datasets.begin(), scope.datasets.end());
    std::vector<double> shown;
    std::vector<bool> has_data;
    for (const HeuristicAggregate& h : scope.heuristics) {
      shown.push_back(h.summary.mean_rho);
      has_data.push_back(h.has_data);
    }
    const TablePlan p = plan(shown, has_data);
    const ValueOf value = [&](size_t h, size_t i) { return in.count(dataset[i]) ? mean_rho[h][i] : kNaN; };
    return fill(scope.label(), -1, p, agg, value, samples.size(), dataset, options);
  };
  // The per-layer table of the overall scope: per layer, Holm over all pairs of the heuristics with ρ there.
  const ScopeAggregate& overall = agg.overall();
  auto layer_table = [&](int l) {
    std::vector<double> shown;
    std::vector<bool> has_data;
    for (const HeuristicAggregate& h : overall.heuristics) {
      const bool data = h.has_data && h.layers[l][0].n > 0;
      shown.push_back(data ? h.layers[l][0].mean : kNaN);
      has_data.push_back(data);
    }
    const ValueOf value = [&](size_t h, size_t i) { return rho[h][i][l]; };
    return fill("overall", l, plan(shown, has_data), agg, value, samples.size(), dataset, options);
  };

  // The tables are independent, each resampling with its own generator seeded from `options`: filled
  // side by side on the machine's cores (a third of `claa report`'s time on the main job's 30 samples
  // when one after another: docs/benchmarks.md), with the same numbers.
  const size_t scopes = agg.scopes.size();
  out.scopes.resize(scopes);
  out.layers.resize(static_cast<size_t>(std::max(agg.n_layers, 0)));
  parallel_for_each_index(scopes + out.layers.size(), [&](size_t t) {
    if (t < scopes)
      out.scopes[t] = scope_table(agg.scopes[t]);
    else
      out.layers[t - scopes] = layer_table(static_cast<int>(t - scopes));
  });
  return out;
}

}  // namespace claa
