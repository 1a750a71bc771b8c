// The lead metric's paired comparison in rank reports (aggregate.h LeadComparison).
#include <cmath>
#include <map>

#include "reports/aggregate.h"

namespace claa {

std::string lead_metric_base(const RunAggregate& agg) {
  if (!agg.keep_rates.empty() && agg.metric_index(metric_name("evidence_recall", agg.keep_rates.front())) >= 0)
    return "evidence_recall";
  return "mass_recall";
}

namespace {

// A sample's lead metric for one heuristic at `layer` and keep index k; NaN where undefined.
double lead_value(const HeuristicRecord& h, int layer, const std::string& base, size_t k) {
  if (layer >= static_cast<int>(h.layers.size())) return std::nan("");
  const LayerRecord& l = h.layers[layer];
  if (l.nonfinite > 0 || l.oracle_nonfinite > 0) return std::nan("");
  const std::vector<double>& v = base == "evidence_recall" ? l.evidence_recall : l.mass_recall;
  return k < v.size() ? v[k] : std::nan("");
}

}  // namespace

LeadComparison compare_lead_metric(const std::vector<SampleRecord>& samples, const RunAggregate& agg,
                                   const ResamplingOptions& options) {
  LeadComparison out;
  out.base = lead_metric_base(agg);
  out.layer = std::max(0, agg.n_layers / 2 - 1);
  out.options = options;
  for (size_t k = 0; k < agg.keep_rates.size(); ++k) {
    // Per heuristic: sample index → value.
    std::map<std::string, std::map<size_t, double>> values;
    for (size_t i = 0; i < samples.size(); ++i)
      for (const HeuristicRecord& h : samples[i].heuristics)
        if (double v = lead_value(h, out.layer, out.base, k); std::isfinite(v)) values[h.name][i] = v;
    std::string best;
    double best_mean = -1;
    for (const auto& [name, vs] : values) {
      double sum = 0;
      for (const auto& [i, v] : vs) sum += v;
      if (sum / vs.size() > best_mean) best_mean = sum / vs.size(), best = name;
    }
    if (best.empty()) continue;
    out.family_size += all_pairs(values.size());
    out.best.emplace_back(agg.keep_rates[k], best);
    for (const auto& [name, vs] : values) {
      if (name == best) continue;
      std::vector<double> a, b;
      for (const auto& [i, v] : vs)
        if (auto it = values[best].find(i); it != values[best].end()) a.push_back(v), b.push_back(it->second);
      PairedDiff d = paired_difference(a, b, options);
      d.method = name;
      d.against = best;
      d.keep = agg.keep_rates[k];
      out.vs_best.push_back(d);
    }
  }
  holm_family(out.vs_best, options.level, out.family_size);
  return out;
}

}  // namespace claa
