#include "reports/record_fields.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "datasets/longbench.h"

namespace claa::record {

using nlohmann::json;
namespace fs = std::filesystem;

const json& field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  require(it != j.end(), fmt::format("{}: missing field '{}'", where, key));
  return *it;
}

double number(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  require(v.is_number(), fmt::format("{}: field '{}' is not a number", where, key));
  return v.get<double>();
}

std::vector<double> numbers(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  require(v.is_array(), fmt::format("{}: field '{}' is not a list", where, key));
  std::vector<double> out;
  for (const json& x : v) {
    require(x.is_number(), fmt::format("{}: field '{}' holds a non-number", where, key));
    out.push_back(x.get<double>());
  }
  return out;
}

std::string text(const json& j, const char* key, const std::string& where, const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  require(it->is_string(), fmt::format("{}: field '{}' is not a string", where, key));
  return it->get<std::string>();
}

std::string category_of(const json& j, const std::string& task, const std::string& where) {
  std::string c = text(j, "category", where);
  if (!c.empty()) return c;
  try {
    return longbench_category(task);
  } catch (const Error&) {
    return "Other";
  }
}

std::vector<std::pair<size_t, std::string>> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path + ": cannot read");
  std::vector<std::pair<size_t, std::string>> lines;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.emplace_back(number, line);
  return lines;
}

int64_t integer(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  require(it->is_number(), fmt::format("{}: field '{}' is not a number", where, key));
  return it->get<int64_t>();
}

bool flag(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return false;
  require(it->is_boolean(), fmt::format("{}: field '{}' is not true or false", where, key));
  return it->get<bool>();
}

double optional_number(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0.0;
  require(it->is_number(), fmt::format("{}: field '{}' is not a number", where, key));
  return it->get<double>();
}

RecordHeader parse_header(const json& j, const std::string& where) {
  require(j.is_object(), where + ": not a JSON object");
  RecordHeader h;
  h.id = text(j, "id", where);
  require(!h.id.empty(), where + ": missing field 'id'");
  h.task = text(j, "task", where);
  h.dataset = text(j, "dataset", where, h.task);
  require(!h.dataset.empty(), where + ": missing field 'dataset' (and 'task')");
  if (h.task.empty()) h.task = h.dataset;
  h.category = category_of(j, h.task, where);
  h.where = where;
  h.max_score = j.contains("max_score") ? number(j, "max_score", where) : 100.0;
  require(h.max_score > 0, where + ": 'max_score' must be positive");
  return h;
}

void for_each_record(const std::vector<std::string>& paths, std::vector<std::string>* torn,
                     const std::function<void(const json&, const std::string&)>& fn) {
  for (const std::string& path : paths) {
    const auto lines = read_lines(path);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string where = fmt::format("{}:{}", path, lines[i].first);
      json j = json::parse(lines[i].second, nullptr, false);
      if (j.is_discarded()) {
        // Only the last line can be a torn write; anything earlier is corruption.
        require(i + 1 == lines.size(), where + ": malformed JSON line");
        if (torn) torn->push_back(where);
        continue;
      }
      fn(j, where);
    }
  }
}

std::vector<std::string> sample_paths(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  require(fs::is_directory(run_dir), run_dir + ": not a directory");
  std::vector<std::string> files = sample_files;
  if (files.empty()) files.push_back((fs::path(run_dir) / "samples.jsonl").string());
  return files;
}

json read_run_json(const std::string& run_dir) {
  const fs::path run_json = fs::path(run_dir) / "run.json";
  if (!fs::exists(run_json)) return nullptr;
  std::ifstream in(run_json);
  json run = json::parse(in, nullptr, false);
  require(!run.is_discarded(), run_json.string() + ": malformed JSON");
  return run;
}

}  // namespace claa::record
