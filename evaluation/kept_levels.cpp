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

nlohmann::json kept_sets(const std::vector<float>& scores, const std::vector<int64_t>& counts) {
  if (std::is_sorted(counts.begin(), counts.end())) return kept_levels(scores, counts);
  const int64_t most = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  const std::vector<int64_t> order = top_k_indices(scores, most);
  nlohmann::json flags = nlohmann::json::array();
  for (int64_t count : counts) {
    std::string f(scores.size(), '.');
    for (int64_t rank = 0; rank < std::min<int64_t>(count, static_cast<int64_t>(order.size())); ++rank)
      f[static_cast<size_t>(order[static_cast<size_t>(rank)])] = '1';
    flags.push_back(std::move(f));
  }
  return flags;
}

std::vector<int64_t> kept_at(const nlohmann::json& entry, size_t i) {
  if (entry.is_string()) return kept_at_level(entry.get<std::string>(), i);
  std::vector<int64_t> kept;
  const std::string& f = entry.at(i).get_ref<const std::string&>();
  for (size_t t = 0; t < f.size(); ++t)
    if (f[t] == '1') kept.push_back(static_cast<int64_t>(t));
  return kept;
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
