#include "heuristics/external_worker.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/error.h"

extern char** environ;

namespace claa {

namespace {

// A private folder for the tensor files: on /dev/shm (memory) when it can be written, else TMPDIR.
std::string make_folder() {
  std::vector<std::string> bases;
  if (access("/dev/shm", W_OK) == 0) bases.push_back("/dev/shm");
  const char* tmp = std::getenv("TMPDIR");
  bases.push_back(tmp && *tmp ? tmp : "/tmp");
  for (const std::string& base : bases) {
    std::string pattern = base + "/claa-external-XXXXXX";
    if (mkdtemp(pattern.data())) return pattern;
  }
  throw Error("external heuristic: cannot make a folder for its tensor files in /dev/shm or " + bases.back() + ": " +
              std::strerror(errno));
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = strsignal(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (") + name + ")" : "");
  }
  return "stopped";
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ExternalWorker::ExternalWorker(std::string label, WorkerCommand command, double timeout_s)
    : label_(std::move(label)), command_(std::move(command)), timeout_s_(timeout_s) {
  require(!command_.argv.empty(), "heuristic '" + label_ + "': no worker command");
  require(timeout_s_ > 0, "heuristic '" + label_ + "': timeout_s must be positive");
}

ExternalWorker::~ExternalWorker() {
  if (pid_ > 0 && failed_.empty()) {
    // A polite quit first, so the worker can clean up; a second later it is killed.
    const std::string quit = "{\"op\":\"quit\"}\n";
    if (write(to_worker_, quit.data(), quit.size()) < 0) { /* it is gone already */
    }
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(10000);
    }
  }
  stop();
  if (!folder_.empty()) {
    // Plain unlink + rmdir: a pip LibTorch's own std::filesystem::remove_all is broken (tests/temp_dir.h).
    if (DIR* d = opendir(folder_.c_str())) {
      while (const dirent* e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          unlink((folder_ + "/" + e->d_name).c_str());
      closedir(d);
    }
    rmdir(folder_.c_str());
  }
}

void ExternalWorker::stop() {
  if (to_worker_ >= 0) close(to_worker_);
  if (from_worker_ >= 0) close(from_worker_);
  to_worker_ = from_worker_ = -1;
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

std::string ExternalWorker::stderr_tail() const {
  std::ifstream in(stderr_path_);
  std::string line, last;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) last = line;
  }
  if (last.size() > 300) last = last.substr(0, 300) + "...";
  return last;
}

void ExternalWorker::fail(const std::string& where, const std::string& what) {
  std::string message = "heuristic '" + label_ + "'" + (where.empty() ? "" : " at " + where) + ": " + what;
  if (failed_.empty()) {
    stop();
    const std::string tail = stderr_tail();
    if (!tail.empty() && what.find(tail) == std::string::npos) message += " (worker stderr: " + tail + ")";
    failed_ = message;
  }
  throw Error(message);
}

void ExternalWorker::start() {
  started_ = true;
  // A worker that dies while claa writes to it must become an error, not SIGPIPE ending claa.
  signal(SIGPIPE, SIG_IGN);
  folder_ = make_folder();
  stderr_path_ = folder_ + "/stderr.log";
  int in_pipe[2], out_pipe[2];
  require(pipe(in_pipe) == 0 && pipe(out_pipe) == 0, "heuristic '" + label_ + "': pipe failed");
  fcntl(in_pipe[1], F_SETFD, FD_CLOEXEC);
  fcntl(out_pipe[0], F_SETFD, FD_CLOEXEC);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addclose(&actions, in_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, out_pipe[1]);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    bool replaced = false;
    for (const auto& [k, v] : command_.env) replaced = replaced || kv.rfind(k + "=", 0) == 0;
    if (!replaced) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : command_.env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("CLAA_WORKER_FOLDER=" + folder_);
  std::vector<char*> envp, argv;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (std::string& s : command_.argv) argv.push_back(s.data());
  argv.push_back(nullptr);

  const auto t0 = std::chrono::steady_clock::now();
  const int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  to_worker_ = in_pipe[1];
  from_worker_ = out_pipe[0];
  if (rc != 0) {
    pid_ = -1;
    fail("start-up", "cannot start '" + command_.argv[0] + "': " + std::strerror(rc));
  }
  hello_ = read_message("start-up");
  if (!hello_.is_object() || hello_.value("protocol", "") != "claa-external-1")
    fail("start-up", "the worker's first line is not a claa-external-1 hello: " + hello_.dump().substr(0, 200));
  start_seconds_ = seconds_since(t0);
}

const nlohmann::json& ExternalWorker::hello() {
  if (!failed_.empty()) throw Error(failed_);
  if (!started_) start();
  return hello_;
}

nlohmann::json ExternalWorker::read_message(const std::string& where) {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      nlohmann::json message;
      try {
        message = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        fail(where, "the worker wrote a line that is not JSON: '" + line.substr(0, 120) +
                        "' (print to stderr: stdout carries the protocol)");
      }
      if (message.is_object() && message.contains("error")) {
        const nlohmann::json& e = message["error"];
        fail(where, "the worker failed: " + (e.is_string() ? e.get<std::string>() : e.dump()));
      }
      return message;
    }
    if (buffer_.size() > (1u << 20)) fail(where, "the worker wrote over 1 MiB without a newline");
    const double left = timeout_s_ - seconds_since(t0);
    if (left <= 0)
      fail(where, fmt::format("the worker gave no answer within {:g} s (timeout_s; it was killed)", timeout_s_));
    pollfd p{from_worker_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min(left * 1000.0, 1e9)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;  // the deadline check above ends it
    char chunk[65536];
    const ssize_t got = read(from_worker_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int status = 0;
      std::string how = "closed its output";
      if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) {
        pid_ = -1;
        how = describe_status(status);
      }
      fail(where, "the worker " + how);
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

nlohmann::json ExternalWorker::request(const nlohmann::json& message, const std::string& where) {
  hello();
  std::string line = message.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = write(to_worker_, line.data() + sent, line.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // It is gone: the read reports how it ended.
      close(to_worker_);
      to_worker_ = -1;
      read_message(where);
      fail(where, "the worker stopped reading its input");
    }
    sent += static_cast<size_t>(n);
  }
  return read_message(where);
}

}  // namespace claa
