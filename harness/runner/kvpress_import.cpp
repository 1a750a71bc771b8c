#include "harness/runner/kvpress_import.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/csv.h"
#include "core/error.h"
#include "evaluation/scorers.h"

namespace claa {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), path.string() + ": cannot read");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The top-level `key: value` lines of kvpress's config.yaml (yaml.dump of a flat dataclass; nested
// blocks such as model_kwargs are skipped). Quoted values are unquoted.
std::map<std::string, std::string> read_flat_yaml(const fs::path& path) {
  std::map<std::string, std::string> out;
  std::stringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == ' ' || line[0] == '#' || line[0] == '-') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = trim(line.substr(colon + 1));
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    out[trim(line.substr(0, colon))] = value;
  }
  return out;
}

// A Python list literal of strings as pandas writes a list column: ['a', "b's"].
std::vector<std::string> python_strings(const std::string& text, const std::string& where) {
  std::vector<std::string> out;
  size_t i = text.find('[');
  require(i != std::string::npos && text.find_last_of(']') != std::string::npos,
          where + ": 'answer' is not a list literal: " + text);
  for (++i; i < text.size();) {
    const char q = text[i];
    if (q != '\'' && q != '"') {
      ++i;
      continue;
    }
    std::string item;
    for (++i; i < text.size() && text[i] != q; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      item += text[i];
    }
    require(i < text.size(), where + ": unterminated string in 'answer': " + text);
    out.push_back(item);
    ++i;
  }
  require(!out.empty(), where + ": 'answer' holds no reference answer: " + text);
  return out;
}

struct Result {
  std::string method;
  double keep;
  std::string answer;
  double score;
};

struct SampleRows {
  std::string task;
  int64_t order = 0;  // first seen, for the output order
  std::vector<Result> results;
};

}  // namespace

int64_t import_kvpress(const std::vector<std::string>& folders, const std::string& run_dir) {
  require(!folders.empty(), "import: no kvpress folder given");
  std::map<std::string, SampleRows> samples;
  std::string data_dir;
  std::vector<std::string> sources;
  for (const std::string& folder : folders) {
    const fs::path dir(folder);
    const std::map<std::string, std::string> cfg = read_flat_yaml(dir / "config.yaml");
    const auto get = [&](const char* key, const std::string& fallback = "") {
      auto it = cfg.find(key);
      return it == cfg.end() ? fallback : it->second;
    };
    require(get("dataset") == "ruler", (dir / "config.yaml").string() + ": dataset '" + get("dataset") +
                                           "' is not ruler (claa scores RULER answers only)");
    const std::string press = get("press_name");
    require(!press.empty(), (dir / "config.yaml").string() + ": no press_name");
    double ratio = 0;
    try {
      ratio = press == "no_press" ? 0.0 : std::stod(get("compression_ratio", "0"));
    } catch (const std::exception&) {
      throw Error((dir / "config.yaml").string() + ": compression_ratio is not a number");
    }
    require(ratio >= 0 && ratio < 1, (dir / "config.yaml").string() + ": compression_ratio must be in [0, 1)");
    const bool query_aware = get("query_aware", "false") == "true";
    const std::string method = press == "no_press" ? "full" : "kvpress/" + press + (query_aware ? "+query_aware" : "");
    const double keep = press == "no_press" ? 1.0 : std::round((1.0 - ratio) * 1e6) / 1e6;
    if (data_dir.empty()) data_dir = get("data_dir");

    const std::string csv_path = (dir / "predictions.csv").string();
    const std::vector<std::vector<std::string>> rows = parse_csv(read_text(dir / "predictions.csv"), csv_path);
    require(rows.size() >= 2, csv_path + ": no rows");
    std::map<std::string, size_t> col;
    for (size_t c = 0; c < rows[0].size(); ++c) col[rows[0][c]] = c;
    for (const char* needed : {"task", "predicted_answer", "answer"})
      require(col.count(needed), csv_path + ": no '" + needed + "' column");
    std::map<std::string, int64_t> per_task;
    for (size_t r = 1; r < rows.size(); ++r) {
      const std::string where = fmt::format("{}: row {}", csv_path, r);
      require(rows[r].size() == rows[0].size(), where + ": " + std::to_string(rows[r].size()) +
                                                    " fields, the header has " + std::to_string(rows[0].size()));
      const std::string task = rows[r][col["task"]];
      const std::string id = col.count("id") ? rows[r][col["id"]] : fmt::format("{}-{}", task, per_task[task]++);
      const std::vector<std::string> refs = python_strings(rows[r][col["answer"]], where);
      const std::string answer = rows[r][col["predicted_answer"]];
      const double score = task.rfind("qa", 0) == 0 ? string_match_part(answer, refs) : string_match_all(answer, refs);
      auto [it, fresh] = samples.try_emplace(id);
      if (fresh) it->second = {task, static_cast<int64_t>(samples.size()), {}};
      require(it->second.task == task, where + ": sample '" + id + "' has task '" + task + "' in one folder and '" +
                                           it->second.task + "' in another");
      for (const Result& other : it->second.results)
        require(!(other.method == method && other.keep == keep),
                where + ": " + method + " at keep " + fmt::format("{}", keep) + " is in two folders");
      it->second.results.push_back({method, keep, answer, score});
    }
    sources.push_back(fs::absolute(dir).string());
  }

  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, s] : samples) order.emplace_back(s.order, id);
  std::sort(order.begin(), order.end());
  std::string lines;
  int64_t index = 0;
  for (const auto& [position, id] : order) {
    const SampleRows& s = samples.at(id);
    json results = json::array();
    for (const Result& r : s.results)
      results.push_back({{"method", r.method},
                         {"keep", r.keep},
                         {"answer", r.answer},
                         {"score", r.score},
                         {"kept_tokens", 0},
                         {"cache_bytes", 0}});  // not in kvpress's files
    lines += json{{"id", id},
                  {"index", index++},
                  {"mode", "e2e"},
                  {"task", s.task},
                  {"dataset", fmt::format("ruler:{}@{}", s.task, data_dir.empty() ? "?" : data_dir)},
                  {"category", "kvpress"},
                  {"prompt_tokens", 0},
                  {"max_score", 100.0},
                  {"results", results}}
                 .dump() +
             "\n";
  }
  fs::create_directories(run_dir);
  write_file_atomically(run_dir + "/samples.jsonl", lines);
  write_file_atomically(
      run_dir + "/run.json",
      json{{"config", {{"name", "kvpress-import"}, {"mode", "e2e"}}}, {"imported_from", sources}}.dump(2) + "\n");
  return index;
}

}  // namespace claa
