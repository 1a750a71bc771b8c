// Seeded RNG with hand-written distributions. std::mt19937_64's output sequence is fixed by the
// standard, but std::uniform_int_distribution & co. are implementation-defined, so generated
// datasets would differ between compilers; these helpers are defined here once.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace claa {

class Rng {
 public:
  explicit Rng(uint64_t seed) : eng_(seed) {}
  uint64_t next() { return eng_(); }
  // Uniform in [lo, hi] (inclusive) by rejection sampling: unbiased.
  int64_t uniform_int(int64_t lo, int64_t hi);
  size_t index(size_t n) { return static_cast<size_t>(uniform_int(0, static_cast<int64_t>(n) - 1)); }
  // k distinct values of [0, n), in the order drawn (partial Fisher-Yates).
  std::vector<size_t> sample_indices(size_t n, size_t k);
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[index(i)]);
  }

 private:
  std::mt19937_64 eng_;
};

// A well-mixed seed for sample `i` of a run seeded with `seed` (splitmix64).
uint64_t derive_seed(uint64_t seed, uint64_t i);

}  // namespace claa
