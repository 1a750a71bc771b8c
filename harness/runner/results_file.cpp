#include "harness/runner/results_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace claa {

namespace {

struct ScanResult {
  std::vector<nlohmann::json> records;
  size_t good_bytes = 0;  // length of the prefix made of complete, valid lines
};

ScanResult scan(const std::string& path) {
  ScanResult r;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return r;
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    bool last = end == std::string::npos;
    std::string line = text.substr(pos, last ? std::string::npos : end - pos);
    ++line_no;
    bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
    if (!blank) {
      try {
        r.records.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception&) {
        // A torn record can only be the last line, cut off by a kill mid-write.
        bool torn = last || text.find_first_not_of(" \t\r\n", end) == std::string::npos;
        require(torn, path + ":" + std::to_string(line_no) + ": malformed record (not valid JSON)");
        break;
      }
    }
    if (last) break;  // a complete record without its newline: keep it, but it is not "good" bytes
    pos = end + 1;
    r.good_bytes = pos;
  }
  return r;
}

}  // namespace

std::vector<nlohmann::json> read_records(const std::string& path) {
  require(std::filesystem::exists(path), path + ": no such results file");
  return scan(path).records;
}

ResultsFile::ResultsFile(const std::string& path, bool resume) : path_(path) {
  namespace fs = std::filesystem;
  bool has_content = fs::exists(path) && fs::file_size(path) > 0;
  require(resume || !has_content,
          path + " already holds results: use --resume to continue the run, or choose another --out");
  if (has_content) {
    // Keep only complete lines (each ends in '\n'): a torn record, or a last record whose newline
    // never reached the disk, is dropped and its sample runs again.
    fs::resize_file(path, scan(path).good_bytes);
    for (const nlohmann::json& rec : scan(path).records)
      if (rec.contains("id")) completed_.insert(rec["id"].get<std::string>());
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  require(fd_ >= 0, path + ": cannot open for writing (" + std::strerror(errno) + ")");
}

ResultsFile::~ResultsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsFile::append(const nlohmann::json& record) {
  std::string line = record.dump() + "\n";
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    require(n > 0 || errno == EINTR, path_ + ": write failed (" + std::strerror(errno) + ")");
    if (n > 0) written += static_cast<size_t>(n);
  }
  require(::fsync(fd_) == 0, path_ + ": fsync failed (" + std::strerror(errno) + ")");
  if (record.contains("id")) completed_.insert(record["id"].get<std::string>());
}

}  // namespace claa
