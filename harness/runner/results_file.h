// samples.jsonl: one JSON record per sample, appended, flushed and fsynced one at a time, so a
// kill at any moment loses at most the sample in flight. On --resume a torn last line (a record
// cut off mid-write) is dropped and the completed ids are skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace claa {

class ResultsFile {
 public:
  // resume = false refuses to touch a file that already holds records (results are never lost).
  ResultsFile(const std::string& path, bool resume);
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  const std::set<std::string>& completed_ids() const { return completed_; }
  void append(const nlohmann::json& record);

 private:
  std::string path_;
  int fd_ = -1;
  std::set<std::string> completed_;
};

// Every complete record of a samples.jsonl; a torn last line is ignored, a malformed middle line
// is an error naming file:line.
std::vector<nlohmann::json> read_records(const std::string& path);

}  // namespace claa
