// Reading fields of samples.jsonl records with "file:line: field 'x' ..." errors, shared by the
// rank and e2e report loaders.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace claa::record {

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where);
double number(const nlohmann::json& j, const char* key, const std::string& where);
std::vector<double> numbers(const nlohmann::json& j, const char* key, const std::string& where);
int64_t integer(const nlohmann::json& j, const char* key, const std::string& where);  // 0 when absent
std::string text(const nlohmann::json& j, const char* key, const std::string& where, const std::string& fallback = "");
// Category written by the runner; older runs may lack it, so fall back to LongBench's table, then "Other".
std::string category_of(const nlohmann::json& j, const std::string& task, const std::string& where);
// All lines of a file with their 1-based numbers, blank ones dropped.
std::vector<std::pair<size_t, std::string>> read_lines(const std::string& path);

}  // namespace claa::record
