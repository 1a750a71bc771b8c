#include "harness/runner/kvpress_export.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "datasets/dataset_spec.h"
#include "datasets/prompt_build.h"
#include "harness/runner/run_config.h"
#include "heuristics/heuristic.h"
#include "model/model_loader.h"
#include "model/model_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// RFC 4180 quoting (what pandas.read_csv reads back).
std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// A Python list literal, as pandas writes kvpress's "answer" column: ['a', 'b'].
std::string python_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    std::string item;
    for (char c : items[i])
      item += c == '\'' ? std::string("\\'") : c == '\\' ? std::string("\\\\") : std::string(1, c);
    out += (i ? ", '" : "'") + item + "'";
  }
  return out + "]";
}

std::string yaml_value(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return json(v.get<std::string>()).dump();  // a double-quoted YAML scalar
  return v.dump();
}

struct Row {
  std::string id, task, predicted;
  double score = 0;
};

struct Folder {
  std::string method;
  double keep = 1;
  std::vector<Row> rows;
};

}  // namespace

std::string kvpress_press_name(const std::string& label, bool& query_aware) {
  query_aware = label.rfind("kvpress_query_aware:", 0) == 0;
  if (label == "full") return "no_press";
  const size_t colon = label.find(':');
  const std::string method = label.substr(0, colon);
  if ((method == "kvpress" || method == "kvpress_query_aware") && colon != std::string::npos) {
    // kvpress evaluation/evaluate_registry.py names, for the presses claa reimplements; a spec carries
    // the name when it resolves to the heuristic's "kvpress" preset (kvpress's press defaults).
    static const std::map<std::string, std::string> names = {
        {"snapkv", "snapkv"}, {"pyramidkv", "pyramidkv"},        {"adakv", "adakv_snapkv"},
        {"knorm", "knorm"},   {"streamingllm", "streaming_llm"}, {"tova", "tova"},
        {"kvzip", "kvzip"}};
    try {
      const HeuristicSpec spec = parse_heuristic_spec(label.substr(colon + 1));
      if (auto it = names.find(spec.name);
          it != names.end() && resolve_heuristic_params(spec.name, spec.params, spec.preset) ==
                                   resolve_heuristic_params(spec.name, {}, "kvpress"))
        return it->second;
    } catch (const Error&) {  // a label that is not a spec: claa's own name below
    }
  }
  std::string safe;
  for (char c : label) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ? c : '-';
  return "claa-" + safe;
}

std::vector<std::string> export_kvpress(const std::string& run_dir, const std::string& out_dir) {
  std::ifstream run_file(run_dir + "/run.json");
  require(run_file.good(), run_dir + "/run.json: cannot read (is it a claa run folder?)");
  json run;
  try {
    run = json::parse(run_file);
  } catch (const json::exception& e) {
    throw Error(run_dir + "/run.json: not valid JSON (" + e.what() + ")");
  }
  require(run.contains("config") && run["config"].is_object(), run_dir + "/run.json: no \"config\"");
  const RunConfig c = parse_run_config(run["config"], run_dir + "/run.json");
  require(c.mode == "e2e", run_dir + ": an e2e run is needed (kvpress's folders hold answers)");
  for (const DatasetSection& d : c.datasets)
    require(parse_dataset_spec(d.spec).kind == "ruler",
            run_dir + ": dataset '" + d.spec + "' is not RULER; kvpress's other scorers differ from claa's");

  // The samples again, from the run's own config (generation is deterministic in the seed).
  const std::string model_path = run.value("model", json::object()).value("source", c.model.path);
  const LoadedModel described = describe_model(model_path);
  const std::shared_ptr<const Tokenizer> tok = model_tokenizer(described);
  require(tok != nullptr, model_path + ": no tokenizer");
  const std::optional<ChatTemplate> chat = chat_template_for(*tok);
  std::map<std::string, Sample> samples;
  std::map<std::string, int64_t> lengths;  // sample id → the dataset's length (kvpress's data_dir)
  for (const DatasetSection& d : c.datasets)
    for (Sample& s : load_dataset(parse_dataset_spec(d.spec), d.options, tok.get(), chat)) {
      if (d.max_new_tokens > 0) s.max_new_tokens = d.max_new_tokens;
      lengths[s.id] = d.options.length;
      samples.emplace(s.id, std::move(s));
    }

  // The answers, grouped by method × keep in the order the run wrote them.
  std::vector<Folder> folders;
  std::ifstream records(run_dir + "/samples.jsonl");
  require(records.good(), run_dir + "/samples.jsonl: cannot read");
  int line_no = 0;
  for (std::string line; std::getline(records, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json r = json::parse(line, nullptr, false);
    if (r.is_discarded()) continue;  // a torn last line of a killed run
    const std::string where = fmt::format("{}/samples.jsonl:{}", run_dir, line_no);
    require(r.value("mode", "") == "e2e" && r.contains("results"), where + ": not an e2e record");
    const std::string id = r.value("id", "");
    require(samples.count(id) > 0, where + ": sample '" + id + "' is not in the run's datasets (config changed?)");
    for (const json& x : r["results"]) {
      const std::string method = x.value("method", "");
      const double keep = x.value("keep", 1.0);
      auto f = std::find_if(folders.begin(), folders.end(),
                            [&](const Folder& g) { return g.method == method && g.keep == keep; });
      if (f == folders.end()) f = folders.insert(folders.end(), Folder{method, keep, {}});
      f->rows.push_back({id, r.value("task", ""), x.value("answer", ""), x.value("score", 0.0)});
    }
  }
  require(!folders.empty(), run_dir + "/samples.jsonl: no e2e records");

  const std::string model_name = fs::path(model_path).filename().replace_extension("").string();
  std::vector<std::string> written;
  for (const Folder& f : folders) {
    bool query_aware = false;
    const std::string press = kvpress_press_name(f.method, query_aware);
    const double ratio = press == "no_press" ? 0.0 : 1.0 - f.keep;
    const Sample& first = samples.at(f.rows.front().id);
    const std::string name = fmt::format("ruler__{}__{}__{}__{:.2f}{}", lengths.at(first.id), model_name, press, ratio,
                                         query_aware ? "__query_aware" : "");
    const fs::path dir = fs::path(out_dir) / name;
    fs::create_directories(dir);

    std::string csv_text =
        "id,task,question,answer_prefix,answer,max_new_tokens,predicted_answer,compression_ratio,claa_score\n";
    std::map<std::string, std::pair<double, int64_t>> by_task;  // points sum, count
    for (const Row& row : f.rows) {
      const Sample& s = samples.at(row.id);
      csv_text +=
          fmt::format("{},{},{},{},{},{},{},{},{}\n", csv(row.id), csv(row.task), csv(s.question), csv(s.answer_prefix),
                      csv(python_list(s.answers)), s.max_new_tokens, csv(row.predicted), ratio, row.score);
      by_task[row.task].first += row.score;
      ++by_task[row.task].second;
    }
    json metrics = json::object();
    for (const auto& [task, sum] : by_task)
      metrics[task] = {{"string_match", std::round(sum.first / static_cast<double>(sum.second) * 100.0) / 100.0}};
    const json cfg = {{"dataset", "ruler"},
                      {"data_dir", std::to_string(lengths.at(first.id))},
                      {"model", model_name},
                      {"press_name", press},
                      {"compression_ratio", ratio},
                      {"query_aware", query_aware},
                      {"max_new_tokens", nullptr},
                      {"claa_method", f.method},
                      {"claa_keep", f.keep},
                      {"claa_run", fs::absolute(run_dir).string()},
                      {"claa_git_commit", run.value("git_commit", "")}};
    std::string yaml;
    for (const char* key : {"dataset", "data_dir", "model", "press_name", "compression_ratio", "query_aware",
                            "max_new_tokens", "claa_method", "claa_keep", "claa_run", "claa_git_commit"})
      yaml += fmt::format("{}: {}\n", key, yaml_value(cfg[key]));
    write_file_atomically((dir / "predictions.csv").string(), csv_text);
    write_file_atomically((dir / "metrics.json").string(), metrics.dump(4) + "\n");
    write_file_atomically((dir / "config.yaml").string(), yaml);
    written.push_back(dir.string());
  }
  return written;
}

}  // namespace claa
