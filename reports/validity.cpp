// Predictive validity of the rank metrics (definitions in validity.h).
#include "reports/validity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "reports/record_fields.h"

namespace claa {

namespace {

using ojson = nlohmann::ordered_json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::vector<std::string> kBases = {"evidence_recall", "mass_recall", "recall", "ndcg", "spearman", "kendall"};

// The metric `base` of one layer at keep index k (NaN where the layer is non-finite or lacks it).
double layer_value(const LayerRecord& l, const std::string& base, size_t k) {
  if (l.nonfinite > 0 || l.oracle_nonfinite > 0) return kNaN;
  if (base == "spearman") return l.spearman;
  if (base == "kendall") return l.kendall;
  const std::vector<double>& v = base == "recall"        ? l.recall
                                 : base == "mass_recall" ? l.mass_recall
                                 : base == "ndcg"        ? l.ndcg
                                                         : l.evidence_recall;
  return k < v.size() ? v[k] : kNaN;
}

// A sample's metric for one ranking: at its l_p, or the mean over the layers with a finite value.
double sample_value(const HeuristicRecord& h, int rank_layer, const std::string& base, size_t k, bool at_lp) {
  if (at_lp && rank_layer >= 0)
    return static_cast<size_t>(rank_layer) < h.layers.size() ? layer_value(h.layers[rank_layer], base, k) : kNaN;
  double sum = 0;
  int n = 0;
  for (const LayerRecord& l : h.layers)
    if (double v = layer_value(l, base, k); std::isfinite(v)) sum += v, ++n;
  return n > 0 ? sum / n : kNaN;
}

struct Observation {
  double metric = 0.0, points = 0.0;
  bool correct = false;
};

// values[cell][sample] for one metric; NaN metric where undefined.
using Table = std::vector<std::vector<Observation>>;

struct CellKey {
  std::string method;
  double keep;
  size_t keep_index;
};

Table observe(const std::vector<BothSample>& samples, const std::vector<CellKey>& cells, const std::string& base,
              bool at_lp) {
  Table t(cells.size(), std::vector<Observation>(samples.size()));
  for (size_t c = 0; c < cells.size(); ++c)
    for (size_t i = 0; i < samples.size(); ++i) {
      const BothSample& s = samples[i];
      Observation& o = t[c][i];
      o.metric = kNaN;
      for (const HeuristicRecord& h : s.rank.heuristics)
        if (h.name == cells[c].method) {
          auto it = s.rank_layers.find(h.name);
          o.metric = sample_value(h, it == s.rank_layers.end() ? -1 : it->second, base, cells[c].keep_index, at_lp);
        }
      o.points = kNaN;
      for (const E2eResult& r : s.e2e.results)
        if (r.method == cells[c].method && r.keep == cells[c].keep) {
          o.points = 100.0 * r.score / s.max_score;
          o.correct = r.score >= s.max_score;
        }
    }
  return t;
}

// ρ across cells of the cells' mean metric and mean score over the samples `idx`.
double across_cells(const Table& t, const std::vector<size_t>& idx, std::vector<ValidityCell>* out = nullptr) {
  std::vector<double> m(t.size()), p(t.size());
  for (size_t c = 0; c < t.size(); ++c) {
    double sm = 0, sp = 0;
    for (size_t i : idx) sm += t[c][i].metric, sp += t[c][i].points;
    m[c] = sm / static_cast<double>(idx.size());
    p[c] = sp / static_cast<double>(idx.size());
    if (out) (*out)[c].metric = m[c], (*out)[c].score = p[c];
  }
  return spearman_rho(m, p);
}

// Mean over keep rates of the Spearman ρ across methods at that keep (the cells' means over `idx`): does the
// metric order the methods as their scores do at a fixed budget? Keeps where ρ is undefined (all methods
// score alike) are left out; NaN when every keep is.
double within_keeps(const Table& t, const std::vector<CellKey>& cells, const std::vector<size_t>& idx) {
  std::map<double, std::pair<std::vector<double>, std::vector<double>>> by_keep;
  for (size_t c = 0; c < t.size(); ++c) {
    double sm = 0, sp = 0;
    for (size_t i : idx) sm += t[c][i].metric, sp += t[c][i].points;
    by_keep[cells[c].keep].first.push_back(sm / static_cast<double>(idx.size()));
    by_keep[cells[c].keep].second.push_back(sp / static_cast<double>(idx.size()));
  }
  double sum = 0;
  int n = 0;
  for (const auto& [keep, mp] : by_keep)
    if (double r = spearman_rho(mp.first, mp.second); std::isfinite(r)) sum += r, ++n;
  return n > 0 ? sum / n : kNaN;
}

double within_cells(const Table& t, const std::vector<size_t>& idx) {
  std::vector<Labelled> items;
  for (size_t c = 0; c < t.size(); ++c)
    for (size_t i : idx) items.push_back({t[c][i].metric, t[c][i].correct, static_cast<int64_t>(c)});
  return stratified_auc(items);
}

}  // namespace

BothSample parse_both_sample(const nlohmann::json& j, const std::string& where) {
  require(record_mode(j) == "both", where + ": not a both-mode record (\"mode\": \"both\")");
  BothSample s;
  static_cast<record::RecordHeader&>(s) = record::parse_header(j, where);
  s.rank = parse_sample(j, where);
  s.e2e = parse_e2e_sample(j, where);
  if (auto it = j.find("rank_layers"); it != j.end()) {
    require(it->is_object(), where + ": 'rank_layers' is not an object");
    for (const auto& [name, l] : it->items()) {
      require(l.is_null() || l.is_number_integer(),
              fmt::format("{}: rank_layers['{}'] is not a layer or null", where, name));
      s.rank_layers[name] = l.is_null() ? -1 : l.get<int>();
    }
  }
  return s;
}

std::vector<BothSample> load_both_samples(const std::vector<std::string>& paths, LoadStats* stats) {
  return record::load_records<BothSample>(paths, stats, parse_both_sample);
}

ValidityAnalysis analyse_validity(const std::vector<BothSample>& all, const ResamplingOptions& options) {
  ValidityAnalysis v;
  v.options = options;
  std::vector<BothSample> samples;
  for (const BothSample& s : all) (s.rank.empty_answer ? v.empty_answers : v.samples) += 1;
  for (const BothSample& s : all)
    if (!s.rank.empty_answer) samples.push_back(s);
  require(!samples.empty(), "predictive validity: no sample has rank metrics (every full-KV answer was empty)");

  // Cells: every ranking (in the first sample's order) at every keep rate of the run.
  const std::vector<double>& keeps = samples.front().rank.keep_rates;
  std::vector<CellKey> cells;
  for (const HeuristicRecord& h : samples.front().rank.heuristics)
    for (size_t k = 0; k < keeps.size(); ++k) cells.push_back({h.name, keeps[k], k});
  require(cells.size() >= 3,
          fmt::format("predictive validity needs at least 3 method × keep cells, the run has {}", cells.size()));
  for (const CellKey& c : cells) v.cells.emplace_back(c.method, c.keep);

  for (const std::string& base : kBases)
    for (bool at_lp : {true, false}) {
      const Table table = observe(samples, cells, base, at_lp);
      std::vector<size_t> defined;  // samples with the metric and a score in every cell
      for (size_t i = 0; i < samples.size(); ++i) {
        bool ok = true;
        for (const auto& cell : table) ok = ok && std::isfinite(cell[i].metric) && std::isfinite(cell[i].points);
        if (ok) defined.push_back(i);
      }
      if (defined.empty()) continue;  // e.g. evidence recall on datasets without gold spans
      MetricValidity m;
      m.base = base;
      m.at_prune_layer = at_lp;
      m.name = at_lp ? base + "@l_p" : base + " (layer mean)";
      m.samples = static_cast<int64_t>(defined.size());
      m.cells.resize(cells.size());
      for (size_t c = 0; c < cells.size(); ++c) m.cells[c].method = cells[c].method, m.cells[c].keep = cells[c].keep;
      m.rho = across_cells(table, defined, &m.cells);
      m.auc = within_cells(table, defined);
      m.rho_per_keep = within_keeps(table, cells, defined);
      // Resample the defined samples: idx picks positions in `defined`.
      auto pick = [&](const std::vector<size_t>& idx) {
        std::vector<size_t> chosen;
        for (size_t i : idx) chosen.push_back(defined[i]);
        return chosen;
      };
      m.rho_ci = bootstrap_interval(
          defined.size(), [&](const auto& idx) { return across_cells(table, pick(idx)); }, options);
      m.auc_ci = bootstrap_interval(
          defined.size(), [&](const auto& idx) { return within_cells(table, pick(idx)); }, options);
      m.rho_per_keep_ci = bootstrap_interval(
          defined.size(), [&](const auto& idx) { return within_keeps(table, cells, pick(idx)); }, options);
      v.metrics.push_back(std::move(m));
    }
  // Best first; an undefined ρ (constant cells) last.
  std::stable_sort(v.metrics.begin(), v.metrics.end(), [](const MetricValidity& a, const MetricValidity& b) {
    const double x = std::isnan(a.rho) ? -2 : a.rho, y = std::isnan(b.rho) ? -2 : b.rho;
    return x > y;
  });
  return v;
}

ojson validity_json(const ValidityAnalysis& v) {
  auto num = [](double x) { return std::isfinite(x) ? ojson(x) : ojson(nullptr); };
  auto interval = [&](const Interval& i) { return ojson{num(i.low), num(i.high)}; };
  ojson metrics = ojson::array();
  for (const MetricValidity& m : v.metrics) {
    ojson cells = ojson::array();
    for (const ValidityCell& c : m.cells)
      cells.push_back({{"method", c.method}, {"keep", c.keep}, {"metric", num(c.metric)}, {"score", num(c.score)}});
    metrics.push_back({{"metric", m.name},
                       {"base", m.base},
                       {"at_prune_layer", m.at_prune_layer},
                       {"samples", m.samples},
                       {"rho_across_cells", num(m.rho)},
                       {"rho_ci", interval(m.rho_ci)},
                       {"rho_across_methods_per_keep", num(m.rho_per_keep)},
                       {"rho_per_keep_ci", interval(m.rho_per_keep_ci)},
                       {"auc_within_cells", num(m.auc)},
                       {"auc_ci", interval(m.auc_ci)},
                       {"cells", cells}});
  }
  return {{"rule",
           "cells = method x keep; a sample's metric at l_p (the layer the pipeline prunes with; the layer mean where "
           "none) or averaged over layers, at the cell's keep rate; rho_across_cells = Spearman rho of the cells' mean "
           "metric and mean score (points) over the samples where the metric is defined in every cell; "
           "rho_across_methods_per_keep = the same across the methods at one keep rate, averaged over keep rates; "
           "auc_within_cells = AUC of the metric separating full-marks answers from the others, pairs within a cell; "
           "ci = percentile bootstrap over those samples"},
          {"options", statistics_json(v.options)},
          {"samples", v.samples},
          {"empty_answers", v.empty_answers},
          {"lead_metric", v.metrics.empty() ? ojson(nullptr) : ojson(v.metrics.front().name)},
          {"metrics", metrics}};
}

}  // namespace claa
