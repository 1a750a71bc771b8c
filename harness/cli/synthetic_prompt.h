// Deterministic pseudo-random prompt ids for speed benchmarks: the content does not change the cost.
#pragma once

#include <cstdint>
#include <vector>

namespace claa {

// xorshift64 ids in [10, vocab), the same on every machine.
inline std::vector<int64_t> synthetic_prompt(int64_t n, int64_t vocab) {
  std::vector<int64_t> ids(n);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (int64_t i = 0; i < n; ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    ids[i] = 10 + static_cast<int64_t>(state % static_cast<uint64_t>(vocab - 10));
  }
  return ids;
}

}  // namespace claa
