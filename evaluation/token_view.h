// The record of one sample's token view (samples.jsonl "token_view"; the explorer page shows it):
// the prompt's tokens as text, the oracle's mass and its top-k sets, the gold evidence and answers,
// and every heuristic's kept sets per layer (kept_levels.h). The format is in docs/reference.md
// "Explorer page".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/metrics.h"

namespace claa {

struct TokenViewInput {
  std::vector<std::string> tokens;  // display text of every prompt token (utf8_token_texts)
  std::vector<float> oracle;        // the oracle's mass per prompt position it covers
  std::vector<double> keep_rates;   // the run's, in its order
  TokenSpans evidence;              // gold evidence token spans [begin, end)
  std::vector<std::string> gold;    // gold answers
};

// kept: heuristic label → its HeuristicEval::kept_sets (a levels string is as long as the positions
// that ranking was compared on). Rates are listed ascending, as the levels count; oracle_levels holds
// the oracle's sets per compared length ("360": ..., "368": ...).
nlohmann::json token_view_json(const TokenViewInput& in, const nlohmann::json& kept);

}  // namespace claa
