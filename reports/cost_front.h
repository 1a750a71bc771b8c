// The cost front of an e2e (or both-mode) run (method.md §5 "Budget ladder and cost front"): per method,
// average score against the measured time to first token and against the decode cache, one point per
// keep rate, Full KV as a reference point. Both figures come from the same run's records.
#pragma once

#include <filesystem>
#include <vector>

#include "reports/e2e_aggregate.h"
#include "reports/gnuplot_figures.h"

namespace claa {

// RUN_DIR/plots/cost_front_ttft and cost_front_cache (.dat written here, .gp by render_figures); the TTFT
// figure only when the records carry prefill_seconds.
std::vector<Figure> cost_front_figures(const E2eAggregate& agg, const std::filesystem::path& dir);

}  // namespace claa
