#include "harness/pipelines/pipeline_config.h"

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = {
      "full",      "fastkv",      "claa",    "oracle",  "fastkv_style",
      "gemfilter", "specprefill", "lazyllm", "kvpress", "kvpress_query_aware"};
  return names;
}

// The heuristic each method selects with when the config names none.
std::string default_heuristic(const std::string& method) {
  if (method == "fastkv" || method == "claa" || method == "oracle" || method == "gemfilter" ||
      method == "specprefill" || method == "lazyllm")
    return method;
  return "";
}

std::string with_hint(const std::string& message, const std::string& word, const std::vector<std::string>& options) {
  std::string hint = did_you_mean(word, options);
  return message + (hint.empty() ? "" : " (did you mean '" + hint + "'?)");
}

// The integer settings, each once: JSON key and member. Reading, the list of known keys and the
// record written by to_json all come from this table, so they cannot drift apart.
struct IntField {
  const char* key;
  int PipelineConfig::*member;
};
const std::vector<IntField>& int_fields() {
  static const std::vector<IntField> fields = {{"window", &PipelineConfig::window},
                                               {"pool", &PipelineConfig::pool},
                                               {"prune_layer", &PipelineConfig::prune_layer},
                                               {"filter_layer", &PipelineConfig::filter_layer},
                                               {"first_compressed_layer", &PipelineConfig::first_compressed_layer},
                                               {"spec_chunk", &PipelineConfig::spec_chunk}};
  return fields;
}

// Settings that were copies of a heuristic's parameters: now set in "heuristic": {"params": ...}.
struct MovedField {
  const char* key;
  const char* heuristic;
  const char* param;
};
const std::vector<MovedField>& moved_fields() {
  static const std::vector<MovedField> fields = {{"claa_n", "claa", "n"},
                                                 {"gemfilter_pool", "gemfilter", "pool"},
                                                 {"spec_lookahead", "specprefill", "lookahead"},
                                                 {"spec_pool", "specprefill", "pool"}};
  return fields;
}

const std::vector<std::string>& setting_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k = {"method", "label", "heuristic", "cache_scores", "keep", "stages"};
    for (const IntField& f : int_fields()) k.emplace_back(f.key);
    return k;
  }();
  return keys;
}

}  // namespace

PipelineConfig PipelineConfig::resolved(int n_layers) const {
  PipelineConfig c = *this;
  // method.md §4: l_p ≈ L/2 − 1 (15 of 32); m and n kept.
  if (c.prune_layer < 0) c.prune_layer = std::max(0, n_layers / 2 - 1);
  if (c.filter_layer < 0) c.filter_layer = std::max(0, n_layers / 2 - 1);
  if (c.first_compressed_layer < 0) c.first_compressed_layer = c.method == "claa" ? 4 : 0;
  c.prune_layer = std::min(c.prune_layer, n_layers - 1);
  c.filter_layer = std::min(c.filter_layer, n_layers - 1);
  if (c.heuristic.empty()) c.heuristic = default_heuristic(c.method);
  if (c.cache_scores.empty()) c.cache_scores = c.heuristic == "oracle" ? "selection" : "fastkv";
  if (c.label.empty())
    c.label = c.method == "fastkv_style" || c.kind() == PipelineKind::KvPress ? c.method + ":" + c.heuristic : c.method;
  return c;
}

void PipelineConfig::validate() const {
  require(std::find(method_names().begin(), method_names().end(), method) != method_names().end(),
          with_hint("unknown prefill method '" + method + "'", method, method_names()) +
              "; methods: full, fastkv, claa, oracle, fastkv_style, gemfilter, specprefill, lazyllm, kvpress, "
              "kvpress_query_aware");
  require(
      (method != "fastkv_style" && kind() != PipelineKind::KvPress) || !heuristic.empty(),
      "prefill method '" + method + "' needs a selection: \"heuristic\": NAME or {\"name\": NAME, \"params\": {...}}");
  if (!heuristic.empty() && heuristic != "oracle") {
    require(method != "full", "prefill method 'full' selects nothing: drop \"heuristic\"");
    resolve_heuristic_params(heuristic, selection_params());  // unknown name / parameter → error with a hint
  }
  require(heuristic != "oracle" || kind() == PipelineKind::FastKVStyle,
          "the oracle selection needs the FastKV architecture (methods oracle or fastkv_style)");
  require(cache_scores.empty() || cache_scores == "fastkv" || cache_scores == "selection",
          "pipeline cache_scores must be fastkv or selection");
  require(keep > 0 && keep <= 1, "keep rate must be in (0, 1]");
  require(window >= 1 && pool >= 0, "pipeline: bad window or pool size");
  // "pool" once set the fastkv / claa selection's kernel too; now it is the decode-cache rows' only, so a
  // changed pool without the selection's own would silently keep the selection at its default.
  const std::string selection = heuristic.empty() ? default_heuristic(method) : heuristic;
  require(pool == PipelineConfig{}.pool || (selection != "fastkv" && selection != "claa") ||
              heuristic_params.contains("pool"),
          "pipeline setting 'pool' is the kernel of the FastKV rows that compress the decode cache; the " + selection +
              " selection's own kernel is its heuristic's parameter: also give \"heuristic\": {\"name\": \"" +
              selection + "\", \"params\": {\"pool\": " + std::to_string(pool) + "}}");
  require(spec_chunk >= 0, "pipeline: spec_chunk must be >= 0");
  require(!stages.empty(), "pipeline stages: at least one pruning stage");
  for (double f : stages) require(f > 0 && f < 1, "pipeline stages are fractions of the depth in (0, 1)");
}

PipelineKind PipelineConfig::kind() const {
  if (method == "full") return PipelineKind::Full;
  if (method == "gemfilter") return PipelineKind::GemFilter;
  if (method == "specprefill") return PipelineKind::SpecPrefill;
  if (method == "lazyllm") return PipelineKind::Progressive;
  if (method == "kvpress" || method == "kvpress_query_aware") return PipelineKind::KvPress;
  return PipelineKind::FastKVStyle;
}

CacheScores PipelineConfig::cache_rule() const {
  return cache_scores == "selection" ? CacheScores::Selection : CacheScores::FastKV;
}

nlohmann::json PipelineConfig::selection_params() const {
  nlohmann::json p = nlohmann::json::object();
  const std::string h = heuristic.empty() ? default_heuristic(method) : heuristic;
  // Each stage ranks by its own layer's last-token attention over the alive tokens: the worst
  // percentile over earlier stages (rank mode's simulation of the pruning) is the architecture here.
  if (h == "lazyllm" && method == "lazyllm") p = {{"stages", nlohmann::json::array()}};
  for (auto it = heuristic_params.begin(); it != heuristic_params.end(); ++it) p[it.key()] = it.value();
  return p;
}

PipelineConfig pipeline_from_json(const nlohmann::json& j, PipelineConfig c) {
  require(j.is_object(), "pipeline settings must be a JSON object");
  const std::vector<std::string>& keys = setting_keys();
  for (auto it = j.begin(); it != j.end(); ++it) {
    for (const MovedField& m : moved_fields())
      require(it.key() != m.key, std::string("pipeline setting '") + m.key + "' is the " + m.heuristic +
                                     " heuristic's parameter: \"heuristic\": {\"name\": \"" + m.heuristic +
                                     "\", \"params\": {\"" + m.param + "\": ...}}");
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
      throw Error(with_hint("unknown pipeline setting '" + it.key() + "'", it.key(), keys));
  }
  try {
    c.method = j.value("method", c.method);
    c.label = j.value("label", c.label);
    if (j.contains("heuristic")) {
      const nlohmann::json& h = j["heuristic"];
      require(h.is_string() || (h.is_object() && h.contains("name")),
              "pipeline heuristic must be a spec (NAME[@PRESET][{KEY=VALUE}]) or {\"name\": NAME, \"preset\": P, "
              "\"params\": {...}}");
      HeuristicSpec spec;
      if (h.is_string()) {
        spec = parse_heuristic_spec(h.get<std::string>());
      } else {
        spec.name = h["name"].get<std::string>();
        spec.preset = h.value("preset", std::string());
        spec.params = h.contains("params") ? h["params"] : nlohmann::json::object();
        require(spec.params.is_object(), "pipeline heuristic params must be a JSON object");
      }
      c.heuristic = spec.name;
      // A preset is resolved here (its parameters become explicit), so the pipeline records what ran.
      c.heuristic_params =
          spec.preset.empty() ? spec.params : resolve_heuristic_params(spec.name, spec.params, spec.preset);
      const bool plain = spec.preset.empty() && spec.params.empty();
      if (c.label.empty() && !plain && h.is_string()) c.label = c.method + ":" + spec.text;
    }
    c.cache_scores = j.value("cache_scores", c.cache_scores);
    c.keep = j.value("keep", c.keep);
    c.stages = j.value("stages", c.stages);
    for (const IntField& f : int_fields()) c.*f.member = j.value(f.key, c.*f.member);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("pipeline setting has the wrong type (") + e.what() + ")");
  }
  c.validate();
  return c;
}

PipelineConfig pipeline_from_spec(const nlohmann::json& spec, PipelineConfig base) {
  if (!spec.is_string()) return pipeline_from_json(spec, std::move(base));
  const std::string text = spec.get<std::string>();
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return pipeline_from_json({{"method", text}}, std::move(base));
  const std::string method = text.substr(0, colon), heuristic = text.substr(colon + 1);
  require(!method.empty() && !heuristic.empty(), "pipeline spec '" + text + "': expected METHOD or METHOD:HEURISTIC");
  nlohmann::json j = {{"method", method}, {"heuristic", heuristic}};
  if (method != "fastkv_style") j["label"] = text;  // fastkv_style's own label is already METHOD:HEURISTIC
  return pipeline_from_json(j, std::move(base));
}

nlohmann::json to_json(const PipelineConfig& c) {
  nlohmann::json j = {{"method", c.method}, {"keep", c.keep}};
  for (const IntField& f : int_fields()) j[f.key] = c.*f.member;
  if (!c.label.empty()) j["label"] = c.label;
  if (!c.heuristic.empty())
    j["heuristic"] = {
        {"name", c.heuristic},
        {"params",
         c.heuristic == "oracle" ? c.selection_params() : resolve_heuristic_params(c.heuristic, c.selection_params())}};
  if (!c.cache_scores.empty()) j["cache_scores"] = c.cache_scores;
  if (c.kind() == PipelineKind::Progressive) j["stages"] = c.stages;
  return j;
}

}  // namespace claa
