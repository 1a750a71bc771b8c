#include "evaluation/kept_levels.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "evaluation/metrics.h"

namespace claa {

namespace {

char level_digit(size_t i) { return static_cast<char>(i < 10 ? '0' + i : 'a' + (i - 10)); }

size_t digit_value(char c) { return c <= '9' ? static_cast<size_t>(c - '0') : static_cast<size_t>(c - 'a') + 10; }

}  // namespace

std::string kept_levels(const std::vector<float>& scores, const std::vector<int64_t>& counts) {
  require(counts.size() <= kMaxLevelKeepRates, "kept sets: at most 36 keep rates can be recorded");
  require(std::is_sorted(counts.begin(), counts.end()), "kept sets: the counts per keep rate must not decrease");
  std::string levels(scores.size(), '.');
  if (counts.empty()) return levels;
  const std::vector<int64_t> order = top_k_indices(scores, counts.back());
  size_t level = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    while (static_cast<int64_t>(rank) >= counts[level]) ++level;  // past this rate's set: a larger rate
    levels[static_cast<size_t>(order[rank])] = level_digit(level);
  }
  return levels;
}

std::vector<size_t> ascending_order(const std::vector<double>& keep_rates) {
  std::vector<size_t> order(keep_rates.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keep_rates[a] < keep_rates[b]; });
  return order;
}

std::vector<int64_t> kept_at_level(const std::string& levels, size_t i) {
  std::vector<int64_t> kept;
  for (size_t t = 0; t < levels.size(); ++t)
    if (levels[t] != '.' && digit_value(levels[t]) <= i) kept.push_back(static_cast<int64_t>(t));
  return kept;
}

}  // namespace claa
