// Two-level statistics shared by the rank and e2e reports (see stats.h).
#include "reports/stats.h"

#include <cmath>

#include "reports/metrics.h"

namespace claa {

Stat sample_stat(const std::vector<double>& values) {
  if (values.empty()) return {};
  const Summary s = summarize(values);
  return {s.mean, s.sem, s.n, 1};
}

Stat combine(const std::vector<Stat>& per_dataset) {
  Stat out;
  double sum = 0.0, var = 0.0;
  for (const Stat& d : per_dataset) {
    if (d.n == 0) continue;
    sum += d.mean;
    var += d.se * d.se;
    out.n += d.n;
    ++out.datasets;
  }
  if (out.datasets == 0) return {};
  out.mean = sum / double(out.datasets);
  out.se = std::sqrt(var) / double(out.datasets);
  return out;
}

nlohmann::ordered_json stat_json(const Stat& s) {
  return {{"mean", s.mean}, {"stderr", s.se}, {"n", s.n}, {"datasets", s.datasets}};
}

}  // namespace claa
