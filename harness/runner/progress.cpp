#include "harness/runner/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace claa {

Progress::Progress(int64_t total, int64_t already_done)
    : total_(total), start_done_(already_done), tty_(isatty(fileno(stderr)) != 0), t0_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t done, const std::string& current) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  int64_t fresh = done - start_done_;
  double eta = fresh > 0 ? elapsed / fresh * (total_ - done) : 0.0;
  std::string eta_text = fresh > 0 ? fmt::format("{}:{:02d}", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60) : "?";
  if (tty_) {
    const int width = 30;
    int filled = total_ > 0 ? static_cast<int>(width * done / total_) : width;
    fmt::print(stderr, "\r[{}{}] {}/{} {} ETA {}   ", std::string(filled, '#'), std::string(width - filled, '.'), done,
               total_, current, eta_text);
  } else {
    fmt::print(stderr, "[{}/{}] {} (ETA {})\n", done, total_, current, eta_text);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_) fmt::print(stderr, "\n");
}

}  // namespace claa
