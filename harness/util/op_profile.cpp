#include "harness/util/op_profile.h"

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
std::map<std::string, OpTime> table;  // guarded by mutex
thread_local int depth = 0;           // operators open on this thread
std::thread::id owner;                // only the profiling thread's operators are timed

struct Started : at::ObserverContext {
  Clock::time_point t0;
  bool outermost = false;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) {
  auto ctx = std::make_unique<Started>();
  // Operators that worker threads run inside a parallel region are part of the caller's time.
  if (std::this_thread::get_id() != owner) return ctx;
  ctx->outermost = depth++ == 0;
  ctx->t0 = Clock::now();
  return ctx;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  if (std::this_thread::get_id() != owner) return;
  --depth;
  auto* ctx = static_cast<Started*>(context);
  if (!ctx->outermost) return;
  double seconds = std::chrono::duration<double>(Clock::now() - ctx->t0).count();
  std::lock_guard<std::mutex> lock(mutex);
  OpTime& row = table[fn.name()];
  row.name = fn.name();
  row.seconds += seconds;
  ++row.calls;
}

}  // namespace

OpProfile::OpProfile() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    table.clear();
  }
  owner = std::this_thread::get_id();
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(on_start, on_end)
                                      .scopes({at::RecordScope::FUNCTION, at::RecordScope::USER_SCOPE}));
}

OpProfile::~OpProfile() { at::removeCallback(handle_); }

std::vector<OpTime> OpProfile::totals() const {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<OpTime> out;
  for (const auto& [name, row] : table) out.push_back(row);
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return out;
}

}  // namespace claa
