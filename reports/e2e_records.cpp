// Reading e2e-mode records (e2e_records.h), with the rank loader's rules (record_fields.h).
#include "reports/e2e_records.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "reports/record_fields.h"

namespace claa {

namespace {

using nlohmann::json;
using record::field;
using record::for_each_record;
using record::integer;
using record::number;
using record::text;

std::string run_json_mode(const json& run) {
  if (!run.is_object()) return "";
  auto c = run.find("config");
  if (c == run.end() || !c->is_object()) return "";
  auto m = c->find("mode");
  return m != c->end() && m->is_string() ? m->get<std::string>() : "";
}

}  // namespace

std::string record_mode(const json& j) {
  if (!j.is_object()) return "rank";
  auto it = j.find("mode");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "rank";
}

bool is_e2e_record(const json& j) {
  const std::string mode = record_mode(j);
  return mode == "e2e" || mode == "both";
}

E2eSample parse_e2e_sample(const json& j, const std::string& where) {
  E2eSample s;
  static_cast<record::RecordHeader&>(s) = record::parse_header(j, where);
  s.prompt_tokens = integer(j, "prompt_tokens", where);
  const json& results = field(j, "results", where);
  require(results.is_array() && !results.empty(), where + ": 'results' is not a non-empty list");
  std::set<std::pair<std::string, double>> seen;
  bool full_seen = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const json& r = results[i];
    const std::string at = fmt::format("{}: results[{}]", where, i);
    require(r.is_object(), at + ": not a JSON object");
    E2eResult e;
    e.method = text(r, "method", at);
    require(!e.method.empty(), at + ": missing field 'method'");
    e.keep = number(r, "keep", at);
    e.score = number(r, "score", at);
    e.kept_tokens = integer(r, "kept_tokens", at);
    e.cache_bytes = integer(r, "cache_bytes", at);
    if (r.contains("prefill_seconds")) e.prefill_seconds = number(r, "prefill_seconds", at);
    if (e.method == kFullKvMethod) {
      require(!full_seen, fmt::format("{}: a second '{}' result (Full KV is one row)", at, kFullKvMethod));
      full_seen = true;
    } else {
      require(e.keep > 0.0 && e.keep <= 1.0, fmt::format("{}: keep {} is not in (0, 1]", at, e.keep));
      require(seen.emplace(e.method, e.keep).second,
              fmt::format("{}: duplicate result for method '{}' at keep {}", at, e.method, e.keep));
    }
    s.results.push_back(std::move(e));
  }
  return s;
}

std::string samples_mode(const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, std::string>> first;  // (mode, where its first record is), in order
  for_each_record(paths, nullptr, [&](const json& j, const std::string& where) {
    const std::string mode = record_mode(j);
    if (!first.empty() && first.front().first == mode) return;
    first.emplace_back(mode, where);
    if (first.size() > 1)
      throw Error(
          fmt::format("samples mix {0}-mode and {1}-mode records ({0} record at {2}, {1} record at {3}); a run "
                      "directory holds one mode: report them separately",
                      first[0].first, first[1].first, first[0].second, first[1].second));
  });
  return first.empty() ? "rank" : first.front().first;
}

std::string run_dir_mode(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  const std::string mode = samples_mode(record::sample_paths(run_dir, sample_files));
  const std::string declared = run_json_mode(record::read_run_json(run_dir));
  require(
      declared.empty() || declared == mode || (declared == "rank" && mode == "rank"),
      fmt::format("{}: run.json says \"mode\": \"{}\" but the samples are {}-mode records", run_dir, declared, mode));
  return mode;
}

std::vector<E2eSample> load_e2e_samples(const std::vector<std::string>& paths, LoadStats* stats) {
  return record::load_records<E2eSample>(paths, stats, [](const json& j, const std::string& where) {
    require(is_e2e_record(j), where + ": not an e2e-mode record (\"mode\": \"e2e\" or \"both\") in an e2e run");
    return parse_e2e_sample(j, where);
  });
}

}  // namespace claa
