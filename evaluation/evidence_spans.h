// Gold evidence as token spans [begin, end), for evidence recall (method.md §3; metrics.h): merged
// into disjoint ranges once, then the share of their tokens a selection keeps.
#pragma once

#include <cstdint>
#include <vector>

#include "evaluation/metrics.h"

namespace claa {

// The spans sorted and merged into disjoint ranges, empty spans dropped; a span with begin < 0 or
// end < begin is an error.
TokenSpans merge_spans(const TokenSpans& spans);

// Share of the merged spans' tokens that `selected` (a mask over the compared length) keeps;
// tokens beyond the mask count as missed.
double evidence_share(const std::vector<char>& selected, const TokenSpans& merged);

// The mask of the first k indices of a ranking order over n tokens.
std::vector<char> selection_mask(const std::vector<int64_t>& order, int64_t k, size_t n);

}  // namespace claa
