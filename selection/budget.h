// Keep rate → token counts: the one home of both rules the spec uses (method.md §0 and §3).
//   budget_tokens  what a pipeline propagates and caches: C = int(keep · N) as the authors' Python
//                  computes it, at least W + 1 and at most N;
//   metric_k       the k of the rank metrics (recall@k, ...): ceil(keep · N') on the N' scored
//                  positions, at least 1.
// They differ on purpose: the pipelines reproduce the authors' budgets, the metrics compare the
// top keep-fraction of two rankings.
#pragma once

#include <cstdint>

namespace claa {

// Python int(keep · n): truncation, including its floating-point quirks (int(0.29·100) = 28). Not
// clamped: may be 0 for tiny keep·n. keep must be in [0, 1], n >= 0 (claa::Error otherwise).
int64_t budget_count(double keep, int64_t n);

// A pipeline's token budget C: budget_count(keep, n) clamped to [window + 1, n].
int64_t budget_tokens(double keep, int64_t n, int window);

// k used by the metrics: ceil(keep · n) clamped to [1, n]. keep must be in (0, 1], n >= 1.
// A 1e-9 slack absorbs floating-point noise, so metric_k(0.1, 30) is 3, not 4 (0.1·30 = 3.0000000000000004).
int64_t metric_k(double keep, int64_t n);

}  // namespace claa
