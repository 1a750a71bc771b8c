// Peak memory readings for benchmarks: process peak RSS on the CPU, the caching allocator's
// peak on CUDA.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace claa {

int64_t peak_rss_bytes();     // whole process, since start (getrusage)
int64_t current_rss_bytes();  // /proc/self/statm
// Peak bytes allocated on a CUDA device since the last reset; 0 without CUDA support.
int64_t cuda_peak_bytes(const at::Device& device);
void cuda_reset_peak(const at::Device& device);
// The same over every device of a layer split (the sum of each device's peak).
int64_t cuda_peak_bytes(const std::vector<at::Device>& devices);
void cuda_reset_peak(const std::vector<at::Device>& devices);

}  // namespace claa
