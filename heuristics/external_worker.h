// The worker process of an external heuristic (`python:MODULE:FUNCTION`, `exec:COMMAND`; protocol in
// docs/reference.md "External heuristics"): one child process per heuristic per run, started on first
// use, spoken to in JSON lines over its stdin / stdout. Tensors never go through the pipes: they lie
// in files of a private folder on a memory file system (/dev/shm when it exists), safetensors-style,
// which the worker maps (numpy.memmap: no copy) and answers with a file of its own.
//
// Every failure (the worker does not start, says something that is not the protocol, reports an
// exception, exits, is killed, gives no answer within the timeout) becomes one claa::Error line that
// names the heuristic and the layer, with the last line the worker wrote to stderr. A worker that
// failed is killed and stays failed: later requests fail at once with the first error. Torch-free.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

struct WorkerCommand {
  std::vector<std::string> argv;  // execvp'd as is (exec: heuristics run {"/bin/sh", "-c", COMMAND})
  std::vector<std::pair<std::string, std::string>> env;  // set in the child only
};

class ExternalWorker {
 public:
  // `label` names the heuristic in errors ("python:knorm_np:score"); `timeout_s` bounds every
  // answer, the start-up's hello included.
  ExternalWorker(std::string label, WorkerCommand command, double timeout_s);
  ~ExternalWorker();  // asks the worker to quit, then kills it if it does not within a second
  ExternalWorker(const ExternalWorker&) = delete;
  ExternalWorker& operator=(const ExternalWorker&) = delete;

  // Starts the process (once) and returns its hello: {"protocol": "claa-external-1", ...}.
  const nlohmann::json& hello();
  // Sends one request and waits for its answer; `where` ("layer 3") goes into errors. An answer with
  // "error" becomes claa::Error.
  nlohmann::json request(const nlohmann::json& message, const std::string& where);
  // The folder (on a memory file system when there is one) where this worker's tensor files lie.
  const std::string& folder() const { return folder_; }
  const std::string& label() const { return label_; }
  double start_seconds() const { return start_seconds_; }

 private:
  void start();
  nlohmann::json read_message(const std::string& where);
  [[noreturn]] void fail(const std::string& where, const std::string& what);
  std::string stderr_tail() const;
  void stop();

  std::string label_;
  WorkerCommand command_;
  double timeout_s_;
  std::string folder_, stderr_path_;
  pid_t pid_ = -1;
  int to_worker_ = -1, from_worker_ = -1;
  std::string buffer_;  // bytes read past the last full line
  bool started_ = false;
  std::string failed_;  // the first failure, once there was one
  nlohmann::json hello_;
  double start_seconds_ = 0;
};

}  // namespace claa
