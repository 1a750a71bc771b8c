#include "harness/runner/run_config.h"
#include "harness/runner/run_config_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>
#include <variant>

#include "core/error.h"
#include "core/strings.h"
#include "datasets/dataset_spec.h"
#include "evaluation/kept_levels.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

using json = nlohmann::json;

// Collects problems so the user sees all of them at once.
class Problems {
 public:
  void add(const std::string& where, const std::string& what) { lines_.push_back(where + ": " + what); }
  void throw_if_any(const std::string& source) const {
    if (lines_.empty()) return;
    std::string all = source + ": invalid config";
    for (const std::string& l : lines_) all += "\n  " + l;
    throw Error(all);
  }

 private:
  std::vector<std::string> lines_;
};

void check_keys(const json& obj, const std::vector<std::string>& allowed, const std::string& where, Problems& p) {
  if (!obj.is_object()) {  // a section given as a list, string or number: its keys cannot be read
    p.add(where, "must be an object, got " + std::string(obj.type_name()));
    return;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end() || it.key().rfind("_comment", 0) == 0)
      continue;
    std::string hint = did_you_mean(it.key(), allowed);
    p.add(where, "unknown key '" + it.key() + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
}

template <typename T>
void read(const json& obj, const char* key, T& out, const std::string& where, Problems& p) {
  if (!obj.contains(key) || obj[key].is_null()) return;
  try {
    out = obj[key].get<T>();
  } catch (const json::exception&) {
    p.add(where + "." + key, "has the wrong type (" + std::string(obj[key].type_name()) + ")");
  }
}

void check_choice(const std::string& value, const char* key, const std::vector<std::string>& choices,
                  const std::string& where, Problems& p) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  std::string hint = did_you_mean(value, choices);
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  p.add(where + "." + key,
        "'" + value + "' is not one of " + list + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

void read_choice(const json& obj, const char* key, std::string& out, const std::vector<std::string>& choices,
                 const std::string& where, Problems& p) {
  read(obj, key, out, where, p);
  check_choice(out, key, choices, where, p);
}

// Where one key of a plain config object goes; a list of them is also the list of the keys allowed.
struct Field {
  const char* key;
  std::variant<std::string*, int*, int64_t*, uint64_t*, std::vector<int64_t>*, std::vector<double>*> target;
};

void read_fields(const json& obj, std::initializer_list<Field> fields, const std::string& where, Problems& p) {
  std::vector<std::string> keys;
  for (const Field& f : fields) keys.emplace_back(f.key);
  check_keys(obj, keys, where, p);
  for (const Field& f : fields) std::visit([&](auto* target) { read(obj, f.key, *target, where, p); }, f.target);
}

void parse_model(const json& j, ModelSection& m, Problems& p) {
  if (!j.is_object()) return p.add("model", "must be an object");
  check_keys(j, {"path", "device", "devices", "dtype", "threads"}, "model", p);
  read(j, "path", m.path, "model", p);
  read(j, "device", m.device, "model", p);
  auto valid_device = [](const std::string& d) {
    if (d == "cpu" || d == "cuda") return true;
    if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
    return d.find_first_not_of("0123456789", 5) == std::string::npos;
  };
  if (!valid_device(m.device)) p.add("model.device", "'" + m.device + "' is not cpu, cuda or cuda:N");
  read(j, "devices", m.devices, "model", p);
  if (j.contains("devices") && j["devices"].is_array() && m.devices.empty())
    p.add("model.devices", "must list at least one device (or be left out)");
  for (size_t i = 0; i < m.devices.size(); ++i)
    if (!valid_device(m.devices[i]))
      p.add("model.devices[" + std::to_string(i) + "]", "'" + m.devices[i] + "' is not cpu, cuda or cuda:N");
  read_choice(j, "dtype", m.dtype, {"fp32", "bf16", "fp16"}, "model", p);
  read(j, "threads", m.threads, "model", p);
}

DatasetSection parse_dataset(const json& j, const std::string& where, Problems& p) {
  DatasetSection d;
  DatasetOptions& o = d.options;
  if (j.is_string()) {
    d.spec = j.get<std::string>();
  } else if (!j.is_object()) {
    p.add(where, "must be a spec string or an object");
    return d;
  } else {
    auto samples = static_cast<int64_t>(o.samples);  // read signed, so that a negative count is reported
    std::string on_error = "stop";
    read_fields(j,
                {{"spec", &d.spec},
                 {"length", &o.length},
                 {"samples", &samples},
                 {"seed", &o.seed},
                 {"haystack", &o.haystack_dir},
                 {"squad", &o.squad_path},
                 {"hotpotqa", &o.hotpotqa_path},
                 {"niah_lengths", &o.niah_lengths},
                 {"niah_depths", &o.niah_depths},
                 {"trec_max_new_tokens", &o.trec_max_new_tokens},
                 {"max_new_tokens", &d.max_new_tokens},
                 {"max_turns", &o.max_turns},
                 {"on_error", &on_error}},
                where, p);
    check_choice(on_error, "on_error", {"stop", "skip"}, where, p);
    o.on_error = on_error == "skip" ? OnError::Skip : OnError::Stop;
    if (samples < 1) p.add(where + ".samples", "must be at least 1");
    o.samples = static_cast<size_t>(std::max<int64_t>(samples, 1));
  }
  if (d.spec.empty()) p.add(where + ".spec", "is required (e.g. \"ruler:niah_single_1\")");
  else {
    try {
      parse_dataset_spec(d.spec);
    } catch (const Error& e) {
      p.add(where + ".spec", e.what());
    }
  }
  if (o.length < 64) p.add(where + ".length", "must be at least 64 tokens");
  if (d.max_new_tokens < 0) p.add(where + ".max_new_tokens", "must be positive (or 0 for the task's budget)");
  if (o.max_turns < 1) p.add(where + ".max_turns", "must be at least 1");
  return d;
}

void parse_heuristics(const json& j, std::vector<HeuristicSection>& out, Problems& p) {
  std::vector<json> items;
  if (j.is_string() && j.get<std::string>() == "all") {
    for (const HeuristicInfo& h : heuristic_registry())
      if (!h.external) items.push_back(h.name);
  } else if (j.is_array()) {
    items.assign(j.begin(), j.end());
  } else {
    return p.add("heuristics", "must be \"all\" or a list of names / {name, label, params} objects");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    std::string where = "heuristics[" + std::to_string(i) + "]";
    HeuristicSection h;
    try {
      if (items[i].is_string()) {
        HeuristicSpec spec = parse_heuristic_spec(items[i].get<std::string>());
        h.name = spec.name;
        h.preset = spec.preset;
        h.params = spec.params;
        h.label = spec.text;
      } else if (items[i].is_object()) {
        check_keys(items[i], {"name", "label", "preset", "params"}, where, p);
        read(items[i], "name", h.name, where, p);
        read(items[i], "label", h.label, where, p);
        read(items[i], "preset", h.preset, where, p);
        if (items[i].contains("params")) h.params = items[i]["params"];
        if (h.label.empty()) h.label = h.preset.empty() ? h.name : h.name + "@" + h.preset;
      } else {
        p.add(where, "must be a name or an object");
        continue;
      }
      h.params = resolve_heuristic_params(h.name, h.params, h.preset);
      make_heuristic(h.name, h.params);  // constructors validate values (e.g. claa granularity)
    } catch (const Error& e) {
      p.add(where, e.what());
      continue;
    }
    for (const HeuristicSection& other : out)
      if (other.label == h.label) p.add(where, "label '" + h.label + "' is used twice (set \"label\")");
    out.push_back(h);
  }
}

void parse_oracle(const json& j, RunConfig& c, Problems& p) {
  if (!j.is_object()) return p.add("oracle", "must be an object");
  check_keys(j, {"layer_aggregation", "head_aggregation", "pool", "per_layer"}, "oracle", p);
  read_choice(j, "layer_aggregation", c.oracle.layer_aggregation, {"max", "mean"}, "oracle", p);
  read_choice(j, "head_aggregation", c.oracle.head_aggregation, {"max", "mean", "sum"}, "oracle", p);
  read(j, "pool", c.oracle.pool_kernel, "oracle", p);
  if (c.oracle.pool_kernel < 0) p.add("oracle.pool", "must be non-negative");
  read(j, "per_layer", c.per_layer_oracle, "oracle", p);
}

// "report.statistics": {"seed", "bootstrap_resamples", "permutation_resamples", "level"} (resampling.h).
void parse_statistics(const json& j, ResamplingOptions& s, Problems& p) {
  if (!j.is_object()) return p.add("report.statistics", "must be an object");
  const std::string where = "report.statistics";
  check_keys(j, {"seed", "bootstrap_resamples", "permutation_resamples", "level"}, where, p);
  read(j, "seed", s.seed, where, p);
  read(j, "bootstrap_resamples", s.bootstrap_resamples, where, p);
  read(j, "permutation_resamples", s.permutation_resamples, where, p);
  read(j, "level", s.level, where, p);
  if (s.bootstrap_resamples < 100) p.add(where + ".bootstrap_resamples", "must be at least 100");
  if (s.permutation_resamples < 100) p.add(where + ".permutation_resamples", "must be at least 100");
  if (!(s.level > 0.5 && s.level < 1)) p.add(where + ".level", "must lie in (0.5, 1)");
}

// "e2e": {"methods": ["fastkv", "fastkv_style:snapkv", {"method": "claa", "prune_layer": 13}, ...],
//         "pipeline": {shared settings}}
void parse_e2e(const json& j, RunConfig& c, Problems& p) {
  if (!j.is_object()) return p.add("e2e", "must be an object");
  check_keys(j, {"methods", "pipeline"}, "e2e", p);
  PipelineConfig shared;
  try {
    if (j.contains("pipeline")) shared = pipeline_from_json(j["pipeline"]);
  } catch (const Error& e) {
    p.add("e2e.pipeline", e.what());
  }
  json methods = j.contains("methods") ? j["methods"] : json::array({"fastkv", "claa", "oracle", "gemfilter", "specprefill"});
  if (!methods.is_array() || methods.empty()) return p.add("e2e.methods", "must be a non-empty list");
  for (size_t i = 0; i < methods.size(); ++i) {
    std::string where = "e2e.methods[" + std::to_string(i) + "]";
    try {
      PipelineConfig pc = pipeline_from_spec(methods[i], shared);
      if (pc.method == "full") continue;  // full KV is always run as the reference
      make_pipeline(pc, 2);               // the selection heuristic's parameter values, before the model loads
      const std::string label = pc.resolved(2).label;  // the label does not depend on the depth
      for (const PipelineConfig& other : c.e2e_methods)
        if (other.resolved(2).label == label)
          throw Error("two methods are labelled '" + label + "': give each variant its own \"label\"");
      c.e2e_methods.push_back(pc);
    } catch (const Error& e) {
      p.add(where, e.what());
    }
  }
}

}  // namespace

void apply_overrides(json& config, const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments) {
    size_t eq = a.find('=');
    require(eq != std::string::npos && eq > 0, "--set '" + a + "': expected key=value");
    std::string path = a.substr(0, eq), text = a.substr(eq + 1);
    json value;
    try {
      value = json::parse(text);
    } catch (const json::exception&) {
      value = text;  // a bare word is a string
    }
    json* node = &config;
    std::stringstream parts(path);
    std::vector<std::string> keys;
    for (std::string k; std::getline(parts, k, '.');) keys.push_back(k);
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string& k = keys[i];
      bool index = !k.empty() && k.find_first_not_of("0123456789") == std::string::npos;
      if (index) {
        require(node->is_array() && std::stoul(k) < node->size(), "--set '" + a + "': no element " + k);
        node = &(*node)[std::stoul(k)];
      } else {
        if (!node->is_object()) *node = json::object();
        node = &(*node)[k];
      }
    }
    *node = value;
  }
}

RunConfig parse_run_config(const json& j, const std::string& source) {
  require(j.is_object(), source + ": the config must be a JSON object");
  Problems p;
  RunConfig c;
  check_keys(j, {"name", "mode", "model", "datasets", "heuristics", "keep_rates", "oracle", "capture", "report", "output",
                 "e2e"},
             "config", p);
  read(j, "name", c.name, "config", p);
  read_choice(j, "mode", c.mode, {"rank", "e2e", "both"}, "config", p);
  // The e2e section is validated in every mode, so one config can hold a rank and an e2e sweep.
  if (c.runs_pipelines() || j.contains("e2e")) parse_e2e(j.contains("e2e") ? j["e2e"] : json::object(), c, p);
  if (j.contains("model")) parse_model(j["model"], c.model, p);
  if (!j.contains("datasets") || !j["datasets"].is_array() || j["datasets"].empty()) {
    p.add("datasets", "a non-empty list of datasets is required");
  } else {
    for (size_t i = 0; i < j["datasets"].size(); ++i)
      c.datasets.push_back(parse_dataset(j["datasets"][i], "datasets[" + std::to_string(i) + "]", p));
  }
  // Multi-turn samples are evaluated per turn in rank mode; the e2e pipelines prune one prompt.
  for (size_t i = 0; i < c.datasets.size(); ++i) {
    const std::string& spec = c.datasets[i].spec;
    if (c.runs_pipelines() && spec.rfind("scbench:", 0) == 0)
      p.add("datasets[" + std::to_string(i) + "].spec",
            "'" + spec + "' is multi-turn: rank mode only (" + c.mode + " prunes one prompt)");
  }
  parse_heuristics(j.contains("heuristics") ? j["heuristics"] : json("all"), c.heuristics, p);
  read(j, "keep_rates", c.keep_rates, "config", p);
  if (c.keep_rates.empty()) p.add("keep_rates", "needs at least one rate");
  for (double k : c.keep_rates)
    if (!(k > 0 && k <= 1)) p.add("keep_rates", std::to_string(k) + " is not in (0, 1]");
  if (j.contains("oracle")) parse_oracle(j["oracle"], c, p);
  if (j.contains("capture")) {
    check_keys(j["capture"], {"window", "diagnostics_layers", "query_agnostic", "token_views"}, "capture", p);
    read(j["capture"], "token_views", c.token_views, "capture", p);
    if (c.token_views < 0) p.add("capture.token_views", "must be non-negative");
    read(j["capture"], "query_agnostic", c.query_agnostic, "capture", p);
    if (c.query_agnostic && c.runs_pipelines())
      p.add("capture.query_agnostic",
            "is rank mode's; " + c.mode + " runs take the kvpress pipeline (\"kvpress:HEURISTIC\")");
    read(j["capture"], "window", c.window, "capture", p);
    if (c.window < 1) p.add("capture.window", "must be at least 1");
    read(j["capture"], "diagnostics_layers", c.diagnostics_layers, "capture", p);
    for (int l : c.diagnostics_layers)
      if (l < 0) p.add("capture.diagnostics_layers", "layers must be non-negative");
  }
  // Token views are on by default (capture.token_views = 1), so check their limit with or without a capture section.
  if (c.keep_rates.size() > kMaxLevelKeepRates && c.token_views > 0)
    p.add("capture.token_views", "token views record at most 36 keep rates: set it to 0");
  if (j.contains("report")) {
    check_keys(j["report"], {"rho_threshold", "statistics"}, "report", p);
    read(j["report"], "rho_threshold", c.rho_threshold, "report", p);
    if (j["report"].contains("statistics")) parse_statistics(j["report"]["statistics"], c.statistics, p);
  }
  // Both mode measures each pipeline's own ranking: the capture's window W must be the one the
  // pipeline forces and scores with, or the rank metrics would describe another ranking.
  if (c.mode == "both")
    for (const PipelineConfig& pc : c.e2e_methods)
      if (pc.window != c.window)
        p.add("e2e.methods", fmt::format("'{}' has window {} but capture.window is {}: both mode needs them equal",
                                         pc.resolved(2).label, pc.window, c.window));
  read(j, "output", c.output, "config", p);
  p.throw_if_any(source);
  c.resolved = j;
  return c;
}

std::vector<HeuristicSection> parse_heuristic_list(const json& j, const std::string& source) {
  Problems p;
  std::vector<HeuristicSection> out;
  parse_heuristics(j, out, p);
  p.throw_if_any(source);
  return out;
}

namespace {

// The config's JSON (text or stream) with the --set overrides applied; one-line error when malformed.
template <typename Input>
json config_json(Input&& input, const std::vector<std::string>& overrides, const std::string& source) {
  json j;
  try {
    j = json::parse(std::forward<Input>(input));
  } catch (const json::exception& e) {
    throw Error(source + ": malformed JSON (" + std::string(e.what()) + ")");
  }
  apply_overrides(j, overrides);
  return j;
}

}  // namespace

void validate_run_config_text(const std::string& text, const std::vector<std::string>& overrides,
                              const std::string& source) {
  (void)parse_run_config(config_json(text, overrides, source), source);
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  require(in.good(), path + ": cannot read the config");
  return parse_run_config(config_json(in, overrides, path), path);
}

}  // namespace claa
