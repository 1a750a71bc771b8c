// Rank mode for multi-turn samples (SCBench, datasets/scbench.h): how a one-shot ranking ages.
//
// Each turn t is its own prompt — the shared context, the earlier turns (gold replies) and question t —
// captured with its own greedy answer, so turn t has its own Answer-Informed Oracle. Every heuristic's
// per-layer ranking computed on TURN 1's prompt ("one_shot", what a prefill pruner that ranks once
// would keep for the whole conversation) is compared with each turn's oracle, both restricted to the
// shared context's tokens (the only tokens all turns have, at the same positions). The same heuristic
// recomputed on turn t's prompt ("fresh") is compared too, so the report can separate the ranking's
// ageing from the heuristic's quality on that turn. Task scores are per turn (scbench/compute_scores.py
// scores turn by turn).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "datasets/prompt_build.h"
#include "harness/runner/run_config.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"

namespace claa {

struct TurnContext {
  const RunConfig& config;
  const Transformer& model;
  const Tokenizer& tok;
  const std::optional<ChatTemplate>& chat;
  const std::vector<int64_t>& stops;
  const std::vector<std::unique_ptr<Heuristic>>& heuristics;
  uint64_t sample_seed = 0;
};

// The "turns" array of a sample record: one entry per turn {turn (1-based), prompt_tokens,
// context_tokens, answer, answer_tokens, empty_answer, score, heuristics: {label: {one_shot: [per layer
// metrics], fresh: [...]}}}. `first` is turn 1's prompt and capture (already run by the caller).
nlohmann::json evaluate_turns(const TurnContext& ctx, const Sample& s, const PromptBuild& first_prompt,
                              const std::vector<int64_t>& first_ids, const OracleCapture& first_capture);

// The entries [begin, end) of a ranking vector (cut at its end: window scores have N − W entries).
std::vector<float> slice_ranking(const std::vector<float>& v, size_t begin, size_t end);

}  // namespace claa
