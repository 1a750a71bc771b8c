// Guards of a run folder (the --out of `claa run`), so results cannot be mixed up or clobbered:
//  - RunFolderLock: one live `claa run` per folder. A lock file holds the holder's pid; the lock
//    itself is a flock() on it, which the kernel drops when the holder dies, so a lock left by a
//    killed run is detected as stale and taken over, and a reused pid can never fake a live holder.
//    Creating it is also the check that the folder is writable, done before the model loads.
//  - check_resume: --resume only continues the run that run.json describes (same config, model
//    file, dataset samples and shard); anything else is refused with what differs.
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace claa {

class RunFolderLock {
 public:
  // Creates `dir` if needed. Throws claa::Error when the folder cannot be created or written, or
  // when a live process holds it (the message names its pid).
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();  // removes the lock file
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

  static std::string lock_path(const std::string& dir);
  // pid recorded by a holder that died without releasing the folder (0 when the lock was fresh).
  long stale_pid() const { return stale_pid_; }

 private:
  std::string path_;
  int fd_ = -1;
  long stale_pid_ = 0;
};

// What a resumed run must share with the run that wrote run.json. Fields left empty/null are not
// known yet and not compared (the caller checks again once they are, e.g. samples after loading).
struct RunIdentity {
  nlohmann::json config;           // the resolved config ("output" is ignored: the folder is the identity)
  std::string shard;               // "i/n"
  std::string model_fingerprint;   // provenance.h model_fingerprint
  std::string samples_fingerprint; // hash of every sample the config yields, before sharding (runner.cpp)
};

// Throws claa::Error (one line) naming the first thing that differs between run.json (`previous`)
// and `now`, and how to start a new folder instead. Fields run.json lacks (older claa) are skipped.
void check_resume(const std::string& dir, const nlohmann::json& previous, const RunIdentity& now);

}  // namespace claa
