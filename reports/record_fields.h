// Reading samples.jsonl records and their fields with "file:line: field 'x' ..." errors, and a run
// folder's run.json: shared by the rank and e2e report loaders.
#pragma once

#include <cstdint>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace claa {

// What loading samples.jsonl files saw.
struct LoadStats {
  int64_t records = 0;
  std::vector<std::string> torn_lines;  // "FILE:LINE" of ignored unparsable last lines
};

}  // namespace claa

namespace claa::record {

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where);
double number(const nlohmann::json& j, const char* key, const std::string& where);
std::vector<double> numbers(const nlohmann::json& j, const char* key, const std::string& where);
int64_t integer(const nlohmann::json& j, const char* key, const std::string& where);  // 0 when absent
bool flag(const nlohmann::json& j, const char* key, const std::string& where);        // false when absent
double optional_number(const nlohmann::json& j, const char* key, const std::string& where);  // 0 when absent
std::string text(const nlohmann::json& j, const char* key, const std::string& where, const std::string& fallback = "");
// What every record starts with, in either mode: id, task, dataset (defaults to the task, and the
// task to the dataset), category, the task's max score (default 100) and where it was read.
// claa::Error "WHERE: ..." when the record is not an object, lacks them or has a max score ≤ 0.
struct RecordHeader {
  std::string id, task, dataset, category;
  std::string where;  // "FILE:LINE", for error messages
  double max_score = 100.0;
};
RecordHeader parse_header(const nlohmann::json& j, const std::string& where);
// Category written by the runner; older runs may lack it, so fall back to LongBench's table, then "Other".
std::string category_of(const nlohmann::json& j, const std::string& task, const std::string& where);
// All lines of a file with their 1-based numbers, blank ones dropped.
std::vector<std::pair<size_t, std::string>> read_lines(const std::string& path);

// Calls fn(record, "FILE:LINE") for each record of the files, in order. Blank lines are skipped; an
// unparsable LAST line is a torn write (the runner was killed): recorded in `torn` (when given) and
// skipped; an unparsable line anywhere else is claa::Error "FILE:LINE: malformed JSON line".
void for_each_record(const std::vector<std::string>& paths, std::vector<std::string>* torn,
                     const std::function<void(const nlohmann::json&, const std::string&)>& fn);

// Every record of the files parsed by parse(json, where) into a Record with an `id` (for_each_record's
// rules). A sample id seen twice, within or across files, is claa::Error: merging shards must not count
// a sample twice.
template <class Record, class Parse>
std::vector<Record> load_records(const std::vector<std::string>& paths, LoadStats* stats, Parse&& parse) {
  std::vector<Record> records;
  std::map<std::string, std::string> seen;  // id → where
  LoadStats local;
  for_each_record(paths, &local.torn_lines, [&](const nlohmann::json& j, const std::string& where) {
    Record r = parse(j, where);
    auto [it, fresh] = seen.emplace(r.id, where);
    require(fresh, fmt::format("{}: duplicate sample id '{}' (first seen at {})", where, r.id, it->second));
    records.push_back(std::move(r));
    ++local.records;
  });
  if (stats) *stats = local;
  return records;
}

// The samples files of a run folder: RUN_DIR/samples.jsonl, or `sample_files` when given.
// claa::Error when RUN_DIR is not a directory.
std::vector<std::string> sample_paths(const std::string& run_dir, const std::vector<std::string>& sample_files);

// RUN_DIR/run.json, parsed; null when absent; claa::Error when malformed.
nlohmann::json read_run_json(const std::string& run_dir);

}  // namespace claa::record
