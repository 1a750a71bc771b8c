// Prefill acceleration pipelines (method.md §4) and their constants. Budget semantics, stated
// once: C = int(keep · N) prompt tokens are propagated and cached (at least W + 1); the methods
// that force the window keep the last W tokens plus the top C − W of their ranking; GemFilter
// and Speculative Prefill keep their plain top C. Kept tokens are always in prompt order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace claa {

struct PipelineConfig {
  std::string method = "full";  // full | fastkv | claa | oracle | gemfilter | specprefill
  double keep = 0.1;
  int window = 8;               // W
  int pool = 7;                 // window-score pool kernel
  int prune_layer = -1;         // l_p (FastKV/CLAA/oracle); -1 = L/2 − 1 (15 for L = 32)
  int filter_layer = -1;        // l_f (GemFilter); -1 = L/2 − 1 (the CLAA experiments' 15 for L = 32)
  int claa_n = 4;               // n: layers aggregated by CLAA
  int first_compressed_layer = -1;  // m: layers < m keep their full KV cache; -1 = 4 for claa, 0 otherwise
  int gemfilter_pool = 5;
  int spec_lookahead = 8;       // Speculative Prefill look-ahead tokens k (self-draft)
  int spec_pool = 7;
  int spec_chunk = 0;           // 0 = token-level top-C; 64 = keep whole 64-token chunks

  // Fill the -1 defaults for a model of `n_layers` layers.
  PipelineConfig resolved(int n_layers) const;
  void validate() const;  // claa::Error on unknown method or out-of-range constants
};

// Overlay a JSON object of fields onto `base` (unknown keys → claa::Error with "did you mean").
PipelineConfig pipeline_from_json(const nlohmann::json& j, PipelineConfig base = {});
nlohmann::json to_json(const PipelineConfig& c);
int64_t budget_tokens(double keep, int64_t n, int window);

}  // namespace claa
