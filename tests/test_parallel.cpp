// core/parallel.h: every index once, on several threads, and an item's exception reaches the caller.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "tests/catch.h"

TEST_CASE("parallel_for_each_index runs every index exactly once across threads", "[core]") {
  const size_t n = 1000;
  std::vector<std::atomic<int>> runs(n);
  std::atomic<int> concurrent{0}, most{0};
  claa::parallel_for_each_index(
      n,
      [&](size_t i) {
        const int now = ++concurrent;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        ++runs[i];
        std::this_thread::sleep_for(std::chrono::microseconds(50));  // long enough for the workers to overlap
        --concurrent;
      },
      4);
  for (size_t i = 0; i < n; ++i) REQUIRE(runs[i] == 1);
  CHECK(most.load() > 1);  // the items did run side by side
  CHECK(most.load() <= 4);
}

TEST_CASE("parallel_for_each_index with one thread runs the items in order on the calling thread", "[core]") {
  std::vector<size_t> order;
  claa::parallel_for_each_index(
      5, [&](size_t i) { order.push_back(i); }, 1);
  CHECK(order == std::vector<size_t>{0, 1, 2, 3, 4});
  int calls = 0;
  claa::parallel_for_each_index(
      0, [&](size_t) { ++calls; }, 4);
  CHECK(calls == 0);
}

TEST_CASE("parallel_for_each_index rethrows the exception an item throws", "[core]") {
  std::atomic<int> runs{0};
  auto throwing = [&](size_t i) {
    ++runs;
    if (i == 37) throw std::runtime_error("item 37 failed");
  };
  REQUIRE_THROWS_WITH(claa::parallel_for_each_index(200, throwing, 3), "item 37 failed");
  CHECK(runs.load() >= 38 - 2);  // at least the items up to it (the other workers may stop early)
  REQUIRE_THROWS_WITH(claa::parallel_for_each_index(200, throwing, 1), "item 37 failed");
}
