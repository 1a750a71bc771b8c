// Progress of a run: a live bar on a terminal (samples done/total, current task, ETA), plain
// lines otherwise (CI logs, files).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace claa {

class Progress {
 public:
  Progress(int64_t total, int64_t already_done);
  void update(int64_t done, const std::string& current);
  void finish();

 private:
  int64_t total_, start_done_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace claa
