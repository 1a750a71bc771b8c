#include <algorithm>

#include "core/error.h"
#include "core/pooling.h"
#include "core/strings.h"
#include "heuristics/heuristic.h"

// The registry: one line per heuristic file.
#define CLAA_HEURISTICS(X) \
  X(fastkv)                \
  X(gemfilter)             \
  X(claa)                  \
  X(specprefill)           \
  X(h2o)                   \
  X(tova)                  \
  X(knorm)                 \
  X(streamingllm)          \
  X(random)                \
  X(recency)               \
  X(snapkv)                \
  X(pyramidkv)             \
  X(adakv)                 \
  X(lazyllm)               \
  X(expected_attention)    \
  X(kvzip)                 \
  X(python)                \
  X(kvpress)               \
  X(exec)

namespace claa {

#define CLAA_DECLARE_HEURISTIC(name) HeuristicInfo name##_heuristic();
CLAA_HEURISTICS(CLAA_DECLARE_HEURISTIC)
#undef CLAA_DECLARE_HEURISTIC

namespace {

std::vector<HeuristicInfo>& registry() {
#define CLAA_LIST_HEURISTIC(name) name##_heuristic(),
  static std::vector<HeuristicInfo> all = {CLAA_HEURISTICS(CLAA_LIST_HEURISTIC)};
#undef CLAA_LIST_HEURISTIC
  return all;
}

}  // namespace

const std::vector<HeuristicInfo>& heuristic_registry() { return registry(); }

void register_heuristic(HeuristicInfo info) {
  for (const HeuristicInfo& h : registry()) require(h.name != info.name, "heuristic '" + info.name + "' is already registered");
  registry().push_back(std::move(info));
}

namespace {

const HeuristicInfo& find_info(const std::string& name) {
  std::vector<std::string> names;
  for (const HeuristicInfo& h : heuristic_registry()) {
    if (h.name == name) return h;
    names.push_back(h.name);
  }
  std::string hint = did_you_mean(name, names);
  throw Error("unknown heuristic '" + name + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

nlohmann::json preset_params(const HeuristicInfo& info, const std::string& preset) {
  if (preset.empty()) return nlohmann::json::object();
  std::vector<std::string> names;
  for (auto it = info.presets.begin(); it != info.presets.end(); ++it) {
    if (it.key() == preset) return it.value();
    names.push_back(it.key());
  }
  std::string hint = did_you_mean(preset, names), list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  throw Error("heuristic '" + info.name + "': unknown preset '" + preset + "'" +
              (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
              (list.empty() ? " (it has none)" : " (it has: " + list + ")"));
}

}  // namespace

nlohmann::json resolve_heuristic_params(const std::string& name, const nlohmann::json& params,
                                        const std::string& preset) {
  const HeuristicInfo& info = find_info(name);
  nlohmann::json resolved = info.defaults;
  const nlohmann::json from_preset = preset_params(info, preset);
  for (auto it = from_preset.begin(); it != from_preset.end(); ++it) resolved[it.key()] = it.value();
  if (params.is_null()) return resolved;
  require(params.is_object(), "heuristic '" + name + "': parameters must be a JSON object");
  std::vector<std::string> keys;
  for (auto it = info.defaults.begin(); it != info.defaults.end(); ++it) keys.push_back(it.key());
  for (auto it = params.begin(); it != params.end(); ++it) {
    if (!info.defaults.contains(it.key())) {
      std::string hint = did_you_mean(it.key(), keys);
      throw Error("heuristic '" + name + "': unknown parameter '" + it.key() + "'" +
                  (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
    const nlohmann::json& want = info.defaults[it.key()];
    bool same_kind = (want.is_number() && it.value().is_number()) || want.type() == it.value().type();
    require(same_kind, "heuristic '" + name + "': parameter '" + it.key() + "' should look like " + want.dump());
    resolved[it.key()] = it.value();
  }
  return resolved;
}

std::unique_ptr<Heuristic> make_heuristic(const std::string& name, const nlohmann::json& params) {
  return find_info(name).make(resolve_heuristic_params(name, params));
}

std::unique_ptr<Heuristic> make_heuristic(const HeuristicSpec& spec) {
  return find_info(spec.name).make(resolve_heuristic_params(spec.name, spec.params, spec.preset));
}

LayerScores Heuristic::score_layer(const HeuristicInput&, int) const {
  throw Error("heuristic '" + name() + "' scores whole captures only (it is not online)");
}

HeuristicScores Heuristic::score(const HeuristicInput& input) const {
  HeuristicScores s;
  s.layer_independent = layer_independent();
  s.note = note();
  const int n_layers = static_cast<int>(input.capture.layers.size());
  for (int l = 0; l < n_layers; ++l) {
    LayerScores layer = score_layer(input, l);
    s.per_head.push_back(std::move(layer.per_head));
    s.combined.push_back(std::move(layer.combined));
  }
  return s;
}

std::string departures(const nlohmann::json& params, const nlohmann::json& paper) {
  std::string out;
  for (auto it = paper.begin(); it != paper.end(); ++it) {
    if (!params.contains(it.key()) || params[it.key()] == it.value()) continue;
    const nlohmann::json& v = params[it.key()];
    out += (out.empty() ? "departs from the paper: " : ", ") + it.key() + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

HeuristicScores repeat_for_layers(const at::Tensor& ranking, int n_layers, std::string note) {
  HeuristicScores s;
  s.layer_independent = true;
  s.note = std::move(note);
  for (int l = 0; l < n_layers; ++l) {
    s.per_head.push_back(ranking.unsqueeze(0));
    s.combined.push_back(ranking);
  }
  return s;
}

at::Tensor window_scores_from_attention(const at::Tensor& window_attn, int64_t n_kv_heads, int window, int pool_kernel) {
  at::Tensor trimmed = window_attn.narrow(1, 0, window_attn.size(1) - window);  // drop the window columns
  at::Tensor pooled = avg_pool_last(trimmed, pool_kernel);
  return pooled.view({n_kv_heads, pooled.size(0) / n_kv_heads, -1}).sum(1);
}

at::Tensor window_scores_per_kv_head(const CaptureResult& c, int layer, int pool_kernel) {
  return window_scores_from_attention(c.layers.at(layer).window_attn, c.n_kv_heads, c.window, pool_kernel);
}

}  // namespace claa
