#include "selection/budget.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace claa {

int64_t budget_count(double keep, int64_t n) {
  require(keep >= 0.0 && keep <= 1.0, "keep rate must be in [0, 1], got " + std::to_string(keep));
  require(n >= 0, "budget_count needs n >= 0");
  return static_cast<int64_t>(keep * static_cast<double>(n));  // Python int(): truncation, no slack
}

int64_t budget_tokens(double keep, int64_t n, int window) {
  return std::min(n, std::max<int64_t>(budget_count(keep, n), window + 1));
}

int64_t metric_k(double keep, int64_t n) {
  require(keep > 0.0 && keep <= 1.0, "keep rate must be in (0, 1], got " + std::to_string(keep));
  require(n >= 1, "metric_k needs n >= 1");
  const double k = std::ceil(keep * static_cast<double>(n) - 1e-9);
  return std::clamp(static_cast<int64_t>(k), int64_t{1}, n);
}

}  // namespace claa
