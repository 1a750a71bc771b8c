#include "datasets/json_records.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace claa {

size_t line_of_offset(const std::string& text, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

namespace {

// Byte offsets where the top-level array's elements start. Only strings and bracket depth matter,
// so a small scanner does (the full parse afterwards catches anything malformed).
std::vector<size_t> element_starts(const std::string& text, size_t open) {
  std::vector<size_t> starts;
  int depth = 0;
  bool in_string = false, escaped = false, want_element = true;
  for (size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (depth == 1 && want_element && c != ']') starts.push_back(i), want_element = false;
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') ++depth;
    else if (c == ']' || c == '}') --depth;
    else if (c == ',' && depth == 1) want_element = true;
  }
  return starts;
}

std::string where(const std::string& path, size_t line) { return path + ":" + std::to_string(line) + ": "; }

}  // namespace

JsonlReadStats read_json_records(const std::string& path, OnError on_error,
                                 const std::function<void(const nlohmann::json&, size_t)>& convert) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot open " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '[') return read_jsonl(path, on_error, convert);

  nlohmann::json all;
  try {
    all = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    throw Error(where(path, line_of_offset(text, e.byte > 0 ? e.byte - 1 : 0)) + "invalid JSON: " + e.what());
  }
  const std::vector<size_t> starts = element_starts(text, first);
  JsonlReadStats stats;
  for (size_t i = 0; i < all.size(); ++i) {
    const size_t line = line_of_offset(text, i < starts.size() ? starts[i] : first);
    std::string problem;
    try {
      convert(all[i], line);
      ++stats.records;
      continue;
    } catch (const nlohmann::json::exception& e) {
      problem = e.what();
    } catch (const Error& e) {
      problem = e.what();
    }
    if (on_error == OnError::Stop) throw Error(where(path, line) + problem + " (use --on-error skip to skip bad records)");
    ++stats.skipped;
    stats.errors.push_back(where(path, line) + problem);
  }
  return stats;
}

}  // namespace claa
