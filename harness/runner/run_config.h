// The experiment config of `claa run` (configs/*.json): model, datasets, heuristics, keep rates,
// oracle options and output folder. Everything is validated up front — unknown keys and bad
// values get one clear message each (with "did you mean" where obvious) before any model loads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/dataset_spec.h"
#include "evaluation/resampling.h"
#include "harness/pipelines/pipeline_config.h"
#include "oracle/oracle.h"

namespace claa {

struct ModelSection {
  std::string path = "smollm2-135m";
  std::string device = "cpu";
  // Layer split over several devices (["cuda:0", "cuda:1"], or ["cpu", "cpu"] for tests): when
  // set, it replaces `device`. Under mpirun, cuda indices count from the rank's own group of GPUs.
  std::vector<std::string> devices;
  std::string dtype = "fp32";
  int threads = 0;
};

struct DatasetSection {
  DatasetSection() { options.samples = 10; }  // a config's default: ten samples per dataset

  std::string spec;        // "ruler:niah_single_1", "niah", "longbench:DIR", "scbench:DIR", ... "jsonl:FILE"
  DatasetOptions options;  // keys length, samples, seed, haystack, squad, hotpotqa, niah_*, trec_max_new_tokens,
                           // max_turns, on_error
  int max_new_tokens = 0;  // > 0 overrides the task's output budget
};

struct HeuristicSection {
  std::string name;    // registry name
  std::string label;   // name in results (defaults to the spec as written; lets one heuristic appear twice)
  std::string preset;  // a named parameter set of the heuristic ("kvpress"), "" = its defaults
  nlohmann::json params = nlohmann::json::object();  // resolved: defaults, preset, overrides
};

// A "heuristics" list: "all", or names / specs ("snapkv@kvpress{window=32}", heuristic_spec.h) /
// {name, label, preset, params} objects. claa::Error listing every problem.
std::vector<HeuristicSection> parse_heuristic_list(const nlohmann::json& j, const std::string& source);

struct RunConfig {
  std::string name = "run";
  // rank: per-layer ranking quality; e2e: answers and scores per prefill method × keep; both: on the same
  // samples, each pipeline's answers and its selection ranking's rank metrics (method.md §5 "Predictive validity").
  std::string mode = "rank";
  bool runs_pipelines() const { return mode == "e2e" || mode == "both"; }
  std::vector<PipelineConfig> e2e_methods;  // e2e / both: each method's settings (keep set per keep rate)
  ModelSection model;
  std::vector<DatasetSection> datasets;
  std::vector<HeuristicSection> heuristics;
  std::vector<double> keep_rates = {0.1, 0.2, 0.4};
  OracleOptions oracle;
  bool per_layer_oracle = false;
  // capture.query_agnostic (rank mode): heuristics score the prompt up to the context's end only
  // (kvpress's default protocol: the context is compressed before the question is seen); the oracle,
  // from the whole prompt's answer, is compared on those positions.
  bool query_agnostic = false;
  // capture.token_views: how many samples of each dataset (its first ones) record every heuristic's
  // kept sets per layer and keep rate for the explorer page's token view (~0.7 MB per 2K sample with
  // 16 heuristics × 30 layers; evaluation/kept_levels.h). 0 records none.
  int token_views = 1;
  int window = 8;
  // Layers with budget diagnostics for row aggregates (CLAA); empty = the pipelines' l_p = L/2 − 1.
  std::vector<int> diagnostics_layers;
  double rho_threshold = 0.3;
  ResamplingOptions statistics;  // report.statistics: seeds and resample counts of the paired statistics
  std::string output = "runs/run";
  nlohmann::json resolved;  // the full config after defaults and --set, as written to run.json
};

// Apply "a.b.c=value" overrides (value parsed as JSON, else taken as a string).
void apply_overrides(nlohmann::json& config, const std::vector<std::string>& assignments);

// Parse and validate; `source` names the file in messages. Collects every problem and throws one
// claa::Error listing them all (one per line).
RunConfig parse_run_config(const nlohmann::json& config, const std::string& source);
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace claa
