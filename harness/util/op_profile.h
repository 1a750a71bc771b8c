// Wall time per operator while an OpProfile is alive: every top-level ATen operator and every
// RECORD_FUNCTION scope (claa's own kernels) is timed by name through ATen's RecordFunction
// observers. Nested operators count towards the outermost one on their thread (aten::linear
// includes its addmm; operators run by worker threads count towards the caller's), so the totals
// add up to at most the wall time. Only the thread that creates the OpProfile is observed. For `claa bench prefill --profile`.
#pragma once

#include <cstdint>
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
  OpProfile();
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Operators by total time, largest first.
  std::vector<OpTime> totals() const;

 private:
  uint64_t handle_;
};

}  // namespace claa
