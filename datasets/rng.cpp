#include "datasets/rng.h"

#include "core/error.h"

namespace claa {

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  require(lo <= hi, "Rng::uniform_int: empty range");
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(next());
  const uint64_t n = span + 1;
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);  // reject the biased tail
  uint64_t x;
  do x = next();
  while (x >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % n);
}

std::vector<size_t> Rng::sample_indices(size_t n, size_t k) {
  require(k <= n, "cannot draw " + std::to_string(k) + " distinct items from " + std::to_string(n));
  std::vector<size_t> pool(n);
  for (size_t i = 0; i < n; ++i) pool[i] = i;
  for (size_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + index(n - i)]);
  pool.resize(k);
  return pool;
}

uint64_t derive_seed(uint64_t seed, uint64_t i) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace claa
