// Wall time per operator while an OpProfile is alive: every top-level ATen operator and every
// RECORD_FUNCTION scope (claa's own kernels) is timed by name through ATen's RecordFunction
// observers. Nested operators count towards the outermost one on their thread (aten::linear
// includes its addmm; operators run by worker threads count towards the caller's), so the totals
// add up to at most the wall time. Only the thread that creates the OpProfile is observed. For `claa bench prefill
// --profile`.
//
// On a GPU an operator returns before its kernels finish; given a `synchronize` function, the
// profile waits for the device before and after each outermost operator, so each one's time is
// its kernels' time (the waits remove the CPU/GPU overlap: the profiled run is slower than an
// unprofiled one, and only the split between operators is meant to be read).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace claa {

struct OpTime {
  std::string name;
  double seconds = 0;
  int64_t calls = 0;
};

class OpProfile {
 public:
  explicit OpProfile(std::function<void()> synchronize = {});
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Operators by total time, largest first.
  std::vector<OpTime> totals() const;

 private:
  uint64_t handle_;
};

// The kind of work an operator name stands for, for the per-kind table of `bench prefill
// --profile` (and `bench capture --profile`): "GEMM", "attention", "norms", "RoPE", "activation",
// "KV cache", "capture taps", "oracle", "copies and casts", "embedding", or "other".
std::string op_kind(const std::string& name);

}  // namespace claa
