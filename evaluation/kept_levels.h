// Kept sets for the explorer's token view (reports/explorer): every keep rate's kept set of one
// ranking in one string, one character per scored token.
//   '.'            the token is kept at no keep rate;
//   '0'..'9','a'.. the base-36 index of the smallest keep rate (in ascending order) whose set holds it,
// so the set at the i-th smallest rate is { t : levels[t] != '.' and digit(levels[t]) <= i }. Every set
// is a prefix of the same ranking order (top-k, ties to the lower index, metrics.h), so the sets are
// nested whenever their sizes grow with the rate. ~1 byte per token and layer: a 2K prompt with 16
// heuristics × 30 layers records ~0.7 MB.
//
// PyramidKV's per-layer sizes need not grow with the rate (its integer arithmetic can give a high
// layer fewer slots at a larger budget: free 10 → 20 slots, free 15 → 1 at layer 29 of 30, selection.h
// pyramid_layer_budget); such a layer is recorded as one flag string per rate instead ('1' kept,
// '.' not), in ascending rate order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

// One level digit per keep rate: at most 36 rates.
constexpr size_t kMaxLevelKeepRates = 36;

// counts[i]: the size of the kept set at the i-th smallest keep rate, non-decreasing (claa::Error
// otherwise); each set is the top counts[i] of `scores` (top_k_indices).
std::string kept_levels(const std::vector<float>& scores, const std::vector<int64_t>& counts);

// The kept sets of one layer as recorded: kept_levels when `counts` do not decrease, else one flag
// string per rate (see above).
nlohmann::json kept_sets(const std::vector<float>& scores, const std::vector<int64_t>& counts);

// The set at the i-th smallest keep rate of a recorded entry (either form), sorted.
std::vector<int64_t> kept_at(const nlohmann::json& entry, size_t i);

// The positions of `keep_rates` in ascending order of rate (ties keep their order): the order the
// levels count in.
std::vector<size_t> ascending_order(const std::vector<double>& keep_rates);

// The set at the i-th smallest keep rate, decoded from a levels string (sorted token indices).
std::vector<int64_t> kept_at_level(const std::string& levels, size_t i);

}  // namespace claa
