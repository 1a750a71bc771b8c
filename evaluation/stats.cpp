// Two-level statistics shared by the rank and e2e reports (see stats.h).
#include "evaluation/stats.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace claa {

double mean(const std::vector<double>& values) {
  require(!values.empty(), "mean of an empty list");
  long double sum = 0;
  for (double v : values) sum += v;
  return static_cast<double>(sum / static_cast<long double>(values.size()));
}

double sample_std(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  const double mu = mean(values);
  long double ss = 0;
  for (double v : values) ss += (v - mu) * (v - mu);
  return static_cast<double>(std::sqrt(ss / static_cast<long double>(values.size() - 1)));
}

double standard_error(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  return sample_std(values) / std::sqrt(static_cast<double>(values.size()));
}

int64_t count_below(const std::vector<double>& values, double threshold) {
  return std::count_if(values.begin(), values.end(), [&](double v) { return v < threshold; });
}

Summary summarize(const std::vector<double>& values) {
  require(!values.empty(), "summary of an empty list");
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = mean(values);
  s.stddev = sample_std(values);
  s.sem = standard_error(values);
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

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
