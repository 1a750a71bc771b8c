#include "evaluation/evidence_spans.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace claa {

TokenSpans merge_spans(const TokenSpans& spans) {
  TokenSpans sorted;
  for (const auto& [begin, end] : spans) {
    require(begin >= 0 && end >= begin,
            "bad evidence span [" + std::to_string(begin) + ", " + std::to_string(end) + ")");
    if (end > begin) sorted.emplace_back(begin, end);
  }
  std::sort(sorted.begin(), sorted.end());
  TokenSpans merged;
  for (const auto& span : sorted) {
    if (!merged.empty() && span.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, span.second);
    else
      merged.push_back(span);
  }
  return merged;
}

double evidence_share(const std::vector<char>& selected, const TokenSpans& merged) {
  int64_t total = 0, hit = 0;
  const auto n = static_cast<int64_t>(selected.size());
  for (const auto& [begin, end] : merged) {
    total += end - begin;
    for (int64_t j = begin; j < std::min(end, n); ++j) hit += selected[j] ? 1 : 0;  // beyond the cut: missed
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

std::vector<char> selection_mask(const std::vector<int64_t>& order, int64_t k, size_t n) {
  std::vector<char> mask(n, 0);
  for (int64_t i = 0; i < k; ++i) mask[order[i]] = 1;
  return mask;
}

}  // namespace claa
