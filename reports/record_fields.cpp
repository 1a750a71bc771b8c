#include "reports/record_fields.h"

#include <fmt/format.h>

#include <fstream>

#include "datasets/scorers.h"
#include "harness/util/error.h"

namespace claa::record {

using nlohmann::json;

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

}  // namespace claa::record
