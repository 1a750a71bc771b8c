// Reading samples.jsonl: per-record parsing with file:line errors, torn-last-line tolerance, and
// duplicate-id detection across merged files.
#include <fmt/format.h>

#include <fstream>
#include <map>

#include "core/error.h"
#include "reports/aggregate.h"
#include "reports/record_fields.h"

namespace claa {

namespace {

using nlohmann::json;
using record::field;
using record::flag;
using record::integer;
using record::number;
using record::numbers;
using record::optional_number;
using record::text;

LayerRecord parse_layer(const json& j, size_t n_keep, const std::string& where) {
  require(j.is_object(), where + ": not a JSON object");
  LayerRecord r;
  r.nonfinite = integer(j, "nonfinite", where);  // 0 when absent
  r.oracle_nonfinite = integer(j, "oracle_nonfinite", where);
  if (r.nonfinite > 0 || r.oracle_nonfinite > 0) return r;  // no metrics were computed
  r.spearman = number(j, "spearman", where);
  r.kendall = number(j, "kendall", where);
  r.degenerate = flag(j, "degenerate", where);
  r.recall = numbers(j, "recall", where);
  r.mass_recall = numbers(j, "mass_recall", where);
  r.ndcg = numbers(j, "ndcg", where);
  if (j.contains("evidence_recall")) r.evidence_recall = numbers(j, "evidence_recall", where);
  for (const auto* v : {&r.recall, &r.mass_recall, &r.ndcg})
    require(v->size() == n_keep, fmt::format("{}: {} values per metric for {} keep rates", where, v->size(), n_keep));
  require(r.evidence_recall.empty() || r.evidence_recall.size() == n_keep,
          fmt::format("{}: evidence_recall has {} values for {} keep rates", where, r.evidence_recall.size(), n_keep));
  return r;
}

HeuristicRecord parse_heuristic(const std::string& name, const json& j, size_t n_keep, const std::string& where) {
  const std::string at = fmt::format("{}: heuristic '{}'", where, name);
  require(j.is_object(), at + ": not a JSON object");
  HeuristicRecord h;
  h.name = name;
  h.note = text(j, "note", at);
  h.layer_independent = flag(j, "layer_independent", at);
  const json& layers = field(j, "layers", at);
  require(layers.is_array() && !layers.empty(), at + ": 'layers' is not a non-empty list");
  for (size_t l = 0; l < layers.size(); ++l)
    h.layers.push_back(parse_layer(layers[l], n_keep, fmt::format("{} layer {}", at, l)));
  return h;
}

}  // namespace

SampleRecord parse_sample(const json& j, const std::string& where) {
  SampleRecord s;
  static_cast<record::RecordHeader&>(s) = record::parse_header(j, where);
  s.prompt_tokens = integer(j, "prompt_tokens", where);
  s.empty_answer = flag(j, "empty_answer", where);
  s.score = number(j, "score", where);
  s.keep_rates = numbers(j, "keep_rates", where);
  if (j.contains("timing")) {
    const json& t = j["timing"];
    require(t.is_object(), where + ": 'timing' is not an object");
    s.prefill_seconds = optional_number(t, "prefill_seconds", where + " timing");
    s.decode_seconds = optional_number(t, "decode_seconds", where + " timing");
    s.has_timing = true;
  }
  if (s.empty_answer) return s;  // no oracle → no heuristics, by the runner's contract
  const json& hs = field(j, "heuristics", where);
  require(hs.is_object(), where + ": 'heuristics' is not an object");
  for (const auto& [name, h] : hs.items()) s.heuristics.push_back(parse_heuristic(name, h, s.keep_rates.size(), where));
  return s;
}

std::vector<SampleRecord> load_samples(const std::vector<std::string>& paths, LoadStats* stats) {
  return record::load_records<SampleRecord>(paths, stats, parse_sample);
}

}  // namespace claa
