// Prefill acceleration pipelines (method.md §4) and their constants. Budget semantics, stated
// once: C = int(keep · N) prompt tokens are propagated and cached (at least W + 1); the methods
// that force the window keep the last W tokens plus the top C − W of their ranking; GemFilter
// and Speculative Prefill keep their plain top C. Kept tokens are always in prompt order.
//
// A pipeline = an architecture (how the kept tokens are used) + a selection ranking. The ranking
// always comes from a registered heuristic (heuristics/registry.cpp) — the same code rank mode
// evaluates — or, for the oracle emulation, from the Answer-Informed Oracle:
//
//   method        architecture                                   selection (default heuristic)
//   full          plain prefill                                  —
//   fastkv        FastKV: per-head cache compression, l_p prune  fastkv
//   claa          FastKV architecture, layers < m keep full KV   claa
//   oracle        FastKV architecture                            the oracle (caches too)
//   fastkv_style  FastKV architecture                            any heuristic: "heuristic" is required
//   gemfilter     restart on the kept tokens, renumbered         gemfilter
//   specprefill   prefill only the kept tokens, original pos.    specprefill
//   lazyllm       progressive: at each stage layer ⌊f·L⌋ the     lazyllm {stages: []} (the stage
//                 alive tokens are ranked and pruned, C at the   layer's last-token attention,
//                 last stage; original positions kept           over the alive tokens)
//   kvpress       kvpress's protocol (query-agnostic): full      any heuristic: "heuristic" is required
//                 prefill of the prompt up to the context's end,
//                 each layer's cache cut to int(keep · N_ctx)
//                 rows per KV head by the heuristic's scores;
//                 then the question on that cache, original
//                 positions (keep = 1 − kvpress's compression_ratio)
//   kvpress_query_aware  the same with the question inside       any heuristic
//                 the compressed part: all but the last token
//
// Any method takes "heuristic": "NAME" or {"name": NAME, "params": {...}} to swap its ranking or
// set its parameters (CLAA's n, GemFilter's pool, SpecPrefill's lookahead, ...: the heuristic's own
// params, the same as in rank mode), and "label" to name the variant in reports (labels must be
// unique within a run). The settings below belong to the architecture.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

enum class PipelineKind { Full, FastKVStyle, GemFilter, SpecPrefill, Progressive, KvPress };

// Which scores compress each layer's decode cache per KV head in the FastKV architecture.
enum class CacheScores {
  FastKV,     // each layer's own FastKV window rows S[l, g, :] (the paper; FastKV and CLAA)
  Selection,  // the selection ranking's per-KV-head rows (the oracle emulation)
};

struct PipelineConfig {
  std::string method = "full";  // see the table above
  std::string label;            // report name; "" = method (or "fastkv_style:HEURISTIC")
  std::string heuristic;        // selection heuristic; "" = the method's default
  nlohmann::json heuristic_params = nlohmann::json::object();
  std::string cache_scores;     // "fastkv" | "selection"; "" = selection for oracle, else fastkv
  double keep = 0.1;
  int window = 8;               // W
  int pool = 7;                 // pool kernel of the FastKV window rows that compress each layer's cache
  int prune_layer = -1;         // l_p (FastKV/CLAA/oracle); -1 = L/2 − 1 (15 for L = 32)
  int filter_layer = -1;        // l_f (GemFilter); -1 = L/2 − 1 (the CLAA experiments' 15 for L = 32)
  int first_compressed_layer = -1;  // m: layers < m keep their full KV cache; -1 = 4 for claa, 0 otherwise
  int spec_chunk = 0;           // 0 = token-level top-C; 64 = keep whole 64-token chunks
  // LazyLLM's pruning stages as fractions of the depth (stage layer ⌊f·L⌋), each in (0, 1); the
  // tokens alive after stage i of S: max(C, ⌈N · keep^(i/S)⌉), and C after the last stage.
  std::vector<double> stages = {0.25, 0.5, 0.75};

  // Fill the -1 / "" defaults for a model of `n_layers` layers.
  PipelineConfig resolved(int n_layers) const;
  void validate() const;  // claa::Error on unknown method/heuristic or out-of-range constants

  // After resolved(): the architecture, the cache rule, and whether the oracle selects.
  PipelineKind kind() const;
  CacheScores cache_rule() const;
  bool selects_by_oracle() const { return heuristic == "oracle"; }
  // The selection heuristic's parameters: heuristic_params (and, for the lazyllm method, its
  // stages left to the architecture).
  nlohmann::json selection_params() const;
};

// Overlay a JSON object of fields onto `base` (unknown keys → claa::Error with "did you mean").
PipelineConfig pipeline_from_json(const nlohmann::json& j, PipelineConfig base = {});
// A pipeline spec as configs and the CLI write it: a JSON object (pipeline_from_json), a method name
// ("claa"), or METHOD:HEURISTIC for a method with another registered selection ("fastkv_style:snapkv",
// "gemfilter:tova"; labelled so in reports).
PipelineConfig pipeline_from_spec(const nlohmann::json& spec, PipelineConfig base = {});
nlohmann::json to_json(const PipelineConfig& c);

}  // namespace claa
