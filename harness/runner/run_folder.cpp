#include "harness/runner/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace claa {

namespace {

std::string read_fd(int fd) {
  std::string text;
  char buf[64];
  ssize_t n;
  ::lseek(fd, 0, SEEK_SET);
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  return text;
}

long parse_pid(const std::string& text) {
  try {
    return text.empty() ? 0 : std::stol(text);
  } catch (const std::exception&) {
    return 0;  // a garbled lock file is as good as none
  }
}

bool same_file(int fd, const std::string& path) {
  struct stat a{}, b{};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

std::string RunFolderLock::lock_path(const std::string& dir) { return dir + "/.claa-run.lock"; }

RunFolderLock::RunFolderLock(const std::string& dir) : path_(lock_path(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the output folder (" + ec.message() + "); choose another --out");
  // A few attempts: a holder that exits between our open() and flock() unlinks the file we opened.
  for (int attempt = 0; attempt < 5; ++attempt) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(dir + ": the output folder is not writable (" + std::strerror(errno) + "); choose another --out");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      long holder = parse_pid(read_fd(fd_));
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK)
        throw Error(dir + " is in use by another claa run (pid " + (holder ? std::to_string(holder) : "unknown") +
                    "); wait for it to finish, or choose another --out");
      throw Error(path_ + ": cannot lock (" + std::strerror(err) + ")");
    }
    if (!same_file(fd_, path_)) {  // we locked a file its holder has just removed: try again
      ::close(fd_);
      fd_ = -1;
      continue;
    }
    // Locked. A pid still in the file belongs to a holder that died without cleaning up.
    stale_pid_ = parse_pid(read_fd(fd_));
    std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size()))
      throw Error(dir + ": the output folder is not writable (" + std::strerror(errno) + "); choose another --out");
    return;
  }
  throw Error(path_ + ": the lock file keeps changing; is another claa run starting in this folder?");
}

RunFolderLock::~RunFolderLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // unlink while still holding the lock, so no one locks a file about to vanish
  ::close(fd_);
}

namespace {

// "/keep_rates/0" → "keep_rates[0]", "/model/path" → "model.path".
std::string dotted(const std::string& pointer) {
  std::string out;
  size_t pos = 1;
  while (pos <= pointer.size() && !pointer.empty()) {
    size_t next = pointer.find('/', pos);
    std::string part = pointer.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + part + "]" : (out.empty() ? "" : ".") + part;
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out.empty() ? "(whole config)" : out;
}

std::string value_at(const nlohmann::json& j, const std::string& pointer) {
  nlohmann::json::json_pointer p(pointer);
  return j.contains(p) ? j.at(p).dump() : "absent";
}

std::string how_to_continue(const std::string& dir) {
  return "; resume with the same config, model and data, or start a new folder with --out NEW_DIR (" + dir +
         " is left as it was)";
}

}  // namespace

void check_resume(const std::string& dir, const nlohmann::json& previous, const RunIdentity& now) {
  const std::string refused = dir + ": --resume refused: ";
  if (previous.contains("config") && !now.config.is_null()) {
    nlohmann::json before = previous["config"], after = now.config;
    if (before.is_object()) before.erase("output");
    if (after.is_object()) after.erase("output");
    nlohmann::json patch = nlohmann::json::diff(before, after);
    if (!patch.empty()) {
      std::string path = patch[0].value("path", "");
      throw Error(refused + "the config differs from run.json at " + dotted(path) + " (" + value_at(before, path) +
                  " in run.json, " + value_at(after, path) + " now" +
                  (patch.size() > 1 ? ", and " + std::to_string(patch.size() - 1) + " more difference(s)" : "") + ")" +
                  how_to_continue(dir));
    }
  }
  auto compare = [&](const nlohmann::json::json_pointer& key, const std::string& value, const std::string& what) {
    if (value.empty() || !previous.contains(key) || !previous.at(key).is_string()) return;
    const std::string before = previous.at(key).get<std::string>();
    if (before != value)
      throw Error(refused + what + " differs from run.json (" + before + " in run.json, " + value + " now)" +
                  how_to_continue(dir));
  };
  compare(nlohmann::json::json_pointer("/shard"), now.shard, "the shard");
  compare(nlohmann::json::json_pointer("/model/fingerprint"), now.model_fingerprint, "the model file's hash");
  compare(nlohmann::json::json_pointer("/dataset_samples"), now.samples_fingerprint, "the dataset samples' hash");
}

}  // namespace claa
