#include "harness/pipelines/pipeline_config.h"

#include <algorithm>

#include "harness/util/error.h"
#include "heuristics/heuristic.h"

namespace claa {

PipelineConfig PipelineConfig::resolved(int n_layers) const {
  PipelineConfig c = *this;
  // method.md §4: l_p ≈ L/2 − 1 (15 of 32); m and n kept.
  if (c.prune_layer < 0) c.prune_layer = std::max(0, n_layers / 2 - 1);
  if (c.filter_layer < 0) c.filter_layer = std::max(0, n_layers / 2 - 1);
  if (c.first_compressed_layer < 0) c.first_compressed_layer = c.method == "claa" ? 4 : 0;
  c.prune_layer = std::min(c.prune_layer, n_layers - 1);
  c.filter_layer = std::min(c.filter_layer, n_layers - 1);
  return c;
}

void PipelineConfig::validate() const {
  static const std::vector<std::string> methods = {"full", "fastkv", "claa", "oracle", "gemfilter", "specprefill"};
  if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
    std::string hint = did_you_mean(method, methods);
    throw Error("unknown prefill method '" + method + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                "; methods: full, fastkv, claa, oracle, gemfilter, specprefill");
  }
  require(keep > 0 && keep <= 1, "keep rate must be in (0, 1]");
  require(window >= 1 && pool >= 0 && gemfilter_pool >= 0 && spec_pool >= 0, "pipeline: bad window or pool size");
  require(claa_n >= 1 && spec_lookahead >= 1 && spec_chunk >= 0, "pipeline: claa_n, spec_lookahead must be >= 1");
}

int64_t budget_tokens(double keep, int64_t n, int window) {
  int64_t c = static_cast<int64_t>(keep * static_cast<double>(n));  // Python int(): the authors' budget
  return std::min(n, std::max<int64_t>(c, window + 1));
}

PipelineConfig pipeline_from_json(const nlohmann::json& j, PipelineConfig c) {
  require(j.is_object(), "pipeline settings must be a JSON object");
  static const std::vector<std::string> keys = {"method", "keep", "window", "pool", "prune_layer", "filter_layer",
                                                "claa_n", "first_compressed_layer", "gemfilter_pool",
                                                "spec_lookahead", "spec_pool", "spec_chunk"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
      std::string hint = did_you_mean(it.key(), keys);
      throw Error("unknown pipeline setting '" + it.key() + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
    }
  }
  try {
    c.method = j.value("method", c.method);
    c.keep = j.value("keep", c.keep);
    c.window = j.value("window", c.window);
    c.pool = j.value("pool", c.pool);
    c.prune_layer = j.value("prune_layer", c.prune_layer);
    c.filter_layer = j.value("filter_layer", c.filter_layer);
    c.claa_n = j.value("claa_n", c.claa_n);
    c.first_compressed_layer = j.value("first_compressed_layer", c.first_compressed_layer);
    c.gemfilter_pool = j.value("gemfilter_pool", c.gemfilter_pool);
    c.spec_lookahead = j.value("spec_lookahead", c.spec_lookahead);
    c.spec_pool = j.value("spec_pool", c.spec_pool);
    c.spec_chunk = j.value("spec_chunk", c.spec_chunk);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("pipeline setting has the wrong type (") + e.what() + ")");
  }
  c.validate();
  return c;
}

nlohmann::json to_json(const PipelineConfig& c) {
  return {{"method", c.method}, {"keep", c.keep}, {"window", c.window}, {"pool", c.pool},
          {"prune_layer", c.prune_layer}, {"filter_layer", c.filter_layer}, {"claa_n", c.claa_n},
          {"first_compressed_layer", c.first_compressed_layer}, {"gemfilter_pool", c.gemfilter_pool},
          {"spec_lookahead", c.spec_lookahead}, {"spec_pool", c.spec_pool}, {"spec_chunk", c.spec_chunk}};
}

}  // namespace claa
