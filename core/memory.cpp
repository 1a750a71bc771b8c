#include "core/memory.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#ifdef CLAA_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace claa {

int64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

int64_t current_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

int64_t cuda_peak_bytes(const at::Device& device) {
#ifdef CLAA_WITH_CUDA
  if (!device.is_cuda()) return 0;
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
  return stats.allocated_bytes[0].peak;  // StatType::AGGREGATE
#else
  return 0;
#endif
}

void cuda_reset_peak(const at::Device& device) {
#ifdef CLAA_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
}

int64_t cuda_peak_bytes(const std::vector<at::Device>& devices) {
  int64_t sum = 0;
  for (const at::Device& d : devices) sum += cuda_peak_bytes(d);
  return sum;
}

void cuda_reset_peak(const std::vector<at::Device>& devices) {
  for (const at::Device& d : devices) cuda_reset_peak(d);
}

}  // namespace claa
