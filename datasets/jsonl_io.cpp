#include "datasets/jsonl_io.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace claa {

OnError parse_on_error(const std::string& s) {
  if (s == "stop") return OnError::Stop;
  if (s == "skip") return OnError::Skip;
  throw Error("--on-error must be 'stop' or 'skip', not '" + s + "'");
}

JsonlReadStats read_jsonl(const std::string& path, OnError on_error,
                          const std::function<void(const nlohmann::json&, size_t)>& convert) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), "cannot open " + path);
  JsonlReadStats stats;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string problem;
    try {
      convert(nlohmann::json::parse(line), n);
      ++stats.records;
      continue;
    } catch (const nlohmann::json::parse_error& e) {
      problem = std::string("invalid JSON: ") + e.what();
    } catch (const nlohmann::json::exception& e) {
      problem = e.what();
    } catch (const Error& e) {
      problem = e.what();
    }
    std::string where = path + ":" + std::to_string(n) + ": " + problem;
    if (on_error == OnError::Stop) throw Error(where + " (use --on-error skip to skip bad lines)");
    ++stats.skipped;
    stats.errors.push_back(where);
  }
  return stats;
}

namespace {

std::vector<EvidenceSpan> generic_evidence(const nlohmann::json& v, const std::string& context) {
  const std::string msg = "field 'evidence': expected strings found in the context or [begin, end] byte ranges";
  require(v.is_array(), msg);
  std::vector<EvidenceSpan> out;
  for (const auto& x : v) {
    if (x.is_string()) {
      const std::string needle = x.get<std::string>();
      size_t at = needle.empty() ? std::string::npos : context.find(needle);
      require(at != std::string::npos, "field 'evidence': \"" + needle.substr(0, 60) + "\" not found in the context");
      out.push_back({at, at + needle.size()});
    } else {
      require(x.is_array() && x.size() == 2 && x[0].is_number_unsigned() && x[1].is_number_unsigned(), msg);
      EvidenceSpan e{x[0].get<size_t>(), x[1].get<size_t>()};
      require(e.begin <= e.end && e.end <= context.size(), msg);
      out.push_back(e);
    }
  }
  return out;
}

std::string required_string(const nlohmann::json& j, const char* name) {
  require(j.contains(name), std::string("field '") + name + "': missing");
  require(j[name].is_string(), std::string("field '") + name + "': expected a string");
  return j[name].get<std::string>();
}

}  // namespace

Sample sample_from_generic_record(const nlohmann::json& j, const std::string& fallback_id) {
  require(j.is_object(), "expected a JSON object");
  Sample s;
  s.task = "jsonl";
  s.context = required_string(j, "context");
  s.question = required_string(j, "question");
  require(j.contains("answers"), "field 'answers': missing");
  const auto& a = j["answers"];
  if (a.is_string()) {
    s.answers = {a.get<std::string>()};
  } else {
    require(a.is_array(), "field 'answers': expected an array of strings");
    for (const auto& x : a) {
      require(x.is_string(), "field 'answers': expected an array of strings");
      s.answers.push_back(x.get<std::string>());
    }
  }
  s.id = j.contains("id") ? required_string(j, "id") : fallback_id;
  if (j.contains("prompt_template")) s.prompt_template = required_string(j, "prompt_template");
  s.max_new_tokens = 64;
  if (j.contains("max_new_tokens")) {
    require(j["max_new_tokens"].is_number_integer() && j["max_new_tokens"].get<int64_t>() > 0,
            "field 'max_new_tokens': expected a positive integer");
    s.max_new_tokens = j["max_new_tokens"].get<int>();
  }
  if (j.contains("evidence")) s.evidence = generic_evidence(j["evidence"], s.context);
  s.scorer = "string_match_part";
  return s;
}

std::vector<Sample> load_jsonl_samples(const std::string& path, OnError on_error, JsonlReadStats* stats) {
  std::vector<Sample> out;
  std::string stem = std::filesystem::path(path).stem().string();
  JsonlReadStats st = read_jsonl(path, on_error, [&](const nlohmann::json& j, size_t line) {
    if (is_sample_record(j)) out.push_back(sample_from_json(j));
    else out.push_back(sample_from_generic_record(j, stem + "-" + std::to_string(line)));
  });
  if (stats) *stats = st;
  return out;
}

std::string samples_to_jsonl(const std::vector<Sample>& samples) {
  std::string text;
  for (const Sample& s : samples) text += sample_to_json(s).dump() + "\n";
  return text;
}

void write_samples_jsonl(const std::string& path, const std::vector<Sample>& samples) {
  std::string text;
  try {
    text = samples_to_jsonl(samples);
  } catch (const nlohmann::json::exception& e) {
    throw Error("cannot write " + path + ": " + e.what());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    require(out.good(), "cannot write " + tmp);
    out << text;
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error("cannot write " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
}

}  // namespace claa
