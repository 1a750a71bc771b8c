#include "core/op_profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

namespace claa {

namespace {

using Clock = std::chrono::steady_clock;

std::mutex mutex;
std::map<std::string, OpTime> table;    // guarded by mutex
thread_local int depth = 0;             // operators open on this thread
std::thread::id owner;                  // only the profiling thread's operators are timed
std::function<void()> wait_for_device;  // empty on the CPU

// Waits for the device without being observed itself (its own ATen ops would count as operators).
void synchronize_unobserved() {
  if (!wait_for_device) return;
  at::DisableRecordFunctionGuard quiet;
  wait_for_device();
}

struct Started : at::ObserverContext {
  Clock::time_point t0;
  bool outermost = false;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  auto ctx = std::make_unique<Started>();
  // Operators that worker threads run inside a parallel region are part of the caller's time.
  if (std::this_thread::get_id() != owner) return ctx;
  ctx->outermost = depth++ == 0;
  if (ctx->outermost) synchronize_unobserved();
  ctx->t0 = Clock::now();
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  if (std::this_thread::get_id() != owner) return;
  --depth;
  auto* ctx = static_cast<Started*>(context);
  if (!ctx->outermost) return;
  synchronize_unobserved();
  double seconds = std::chrono::duration<double>(Clock::now() - ctx->t0).count();
  std::lock_guard<std::mutex> lock(mutex);
  OpTime& row = table[fn.name()];
  row.name = fn.name();
  row.seconds += seconds;
  ++row.calls;
}

}  // namespace

OpProfile::OpProfile(std::function<void()> synchronize) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    table.clear();
  }
  wait_for_device = std::move(synchronize);
  owner = std::this_thread::get_id();
  handle_ = at::addGlobalCallback(
      at::RecordFunctionCallback(on_start, on_end).scopes({at::RecordScope::FUNCTION, at::RecordScope::USER_SCOPE}));
}

OpProfile::~OpProfile() {
  at::removeCallback(handle_);
  wait_for_device = {};
}

std::vector<OpTime> OpProfile::totals() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<OpTime> out;
  for (const auto& [name, row] : table) out.push_back(row);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}

std::string op_kind(const std::string& name) {
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (name == n) return true;
    return false;
  };
  if (is({"aten::linear", "aten::addmm", "aten::addmm_", "aten::mm", "aten::matmul", "aten::bmm", "claa::linear"}))
    return "GEMM";
  if (name == "claa::attention") return "attention";
  if (name == "claa::rms_norm") return "norms";
  if (name == "claa::rope") return "RoPE";
  if (name == "claa::silu_mul") return "activation";
  if (name == "claa::kv_append") return "KV cache";
  if (name == "claa::capture") return "capture taps";
  if (name == "claa::oracle") return "oracle";
  if (name == "aten::embedding") return "embedding";
  if (is({"aten::copy_", "aten::to", "aten::_to_copy", "aten::contiguous", "aten::clone", "aten::reshape", "aten::cat",
          "aten::index_select", "aten::empty", "aten::empty_strided", "aten::zeros"}))
    return "copies and casts";
  return "other";
}

}  // namespace claa
