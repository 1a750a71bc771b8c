// Independent work items on the machine's cores, for torch-free code (the reports' resampling):
// each index runs once, on one of up to `threads` std::threads. Results stay deterministic when
// each item writes only its own output and draws from its own seeded generator.
#pragma once

#include <cstddef>
#include <functional>

namespace claa {

// fn(i) for every i in [0, n), on up to `threads` threads (0: std::thread::hardware_concurrency()).
// The first exception an item throws is rethrown here once every thread has stopped; items not
// yet started then do not run.
void parallel_for_each_index(size_t n, const std::function<void(size_t)>& fn, unsigned threads = 0);

}  // namespace claa
