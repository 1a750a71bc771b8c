// Paired comparisons of e2e rows (rules in paired_stats.h).
#include "reports/paired_stats.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace claa {

namespace {

using Cell = std::pair<std::string, double>;  // (method, keep); Full KV is ("full", its keep)

// Per cell, per sample index: the score in points (absent where the sample lacks the cell).
using Points = std::map<Cell, std::map<size_t, double>>;

Points points_by_cell(const std::vector<E2eSample>& samples, std::vector<Cell>& order, Cell& full) {
  Points points;
  for (size_t i = 0; i < samples.size(); ++i)
    for (const E2eResult& r : samples[i].results) {
      Cell cell{r.method, r.method == kFullKvMethod ? 1.0 : r.keep};
      if (r.method == kFullKvMethod) full = cell;
      if (!points.count(cell)) order.push_back(cell);
      points[cell][i] = 100.0 * r.score / samples[i].max_score;
    }
  return points;
}

PairedDiff compare(const Points& points, const Cell& row, const Cell& other, const ResamplingOptions& o) {
  std::vector<double> a, b;
  const auto& theirs = points.at(other);
  for (const auto& [i, v] : points.at(row))
    if (auto it = theirs.find(i); it != theirs.end()) a.push_back(v), b.push_back(it->second);
  PairedDiff d = paired_difference(a, b, o);
  d.method = row.first;
  d.keep = row.second;
  d.against = other.first;
  return d;
}

}  // namespace

PairedComparisons paired_comparisons(const std::vector<E2eSample>& samples, const ResamplingOptions& options) {
  PairedComparisons out;
  out.options = options;
  std::vector<Cell> order;
  Cell full{"", 0.0};
  const Points points = points_by_cell(samples, order, full);

  // The best baseline per keep: the highest mean over its samples, the oracle emulation left out.
  std::map<double, std::pair<double, std::string>> best;
  for (const Cell& c : order) {
    if (c.first == kFullKvMethod || c.first == "oracle") continue;
    double sum = 0;
    for (const auto& [i, v] : points.at(c)) sum += v;
    const double mean = sum / static_cast<double>(points.at(c).size());
    auto it = best.find(c.second);
    if (it == best.end() || mean > it->second.first) best[c.second] = {mean, c.first};
  }
  for (const auto& [keep, b] : best) out.best.emplace_back(keep, b.second);

  std::map<double, size_t> methods_at_keep;  // every row but Full KV, the oracle emulation included
  for (const Cell& c : order) {
    if (c.first == kFullKvMethod) continue;
    ++methods_at_keep[c.second];
    if (!full.first.empty()) out.vs_full.push_back(compare(points, c, full, options));
    auto it = best.find(c.second);
    if (it != best.end() && it->second.second != c.first)
      out.vs_best.push_back(compare(points, c, {it->second.second, c.second}, options));
  }
  holm_family(out.vs_full, options.level);
  // The best baseline is chosen from these same samples, so its comparisons are the most extreme of all
  // the pairs at its keep rate: Holm runs with the family of every pair of methods at each keep rate
  // (docs/method.md §5a, "Comparisons with the best"), which keeps the error rate at the level.
  size_t family_size = 0;
  for (const auto& [keep, m] : methods_at_keep) family_size += all_pairs(m);
  holm_family(out.vs_best, options.level, family_size);
  return out;
}

nlohmann::ordered_json paired_json(const PairedDiff& d) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr); };
  return {{"against", d.against},
          {"n", d.n},
          {"delta", num(d.mean)},
          {"ci", {num(d.ci.low), num(d.ci.high)}},
          {"p", num(d.p)},
          {"p_holm", num(d.p_holm)},
          {"distinguishable", d.distinguishable}};
}

}  // namespace claa
