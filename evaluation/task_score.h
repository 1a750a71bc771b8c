// A sample's end-task score: its prediction scored by the scorer its dataset names (Sample::scorer),
// on that scorer's own scale, and LongBench v2's multiple-choice rule.
#pragma once

#include <optional>
#include <string>

#include "datasets/sample.h"

namespace claa {

// Score one prediction with the sample's scorer, on the scorer's own scale (RULER 0..100, else 0..1).
double score_sample(const Sample& s, const std::string& prediction);
// The top of that scale: 100 for RULER / niah / jsonl string matching, 1 for the benchmarks scored 0..1.
double sample_max_score(const Sample& s);

// pred.py extract_answer: drop '*', then "The correct answer is (X)" or else "The correct answer is X",
// X in A-D, first match. nullopt when neither matches (pred is None; result.py counts it wrong).
std::optional<char> longbench_v2_extract_answer(const std::string& response);

// result.py: 1 when the extracted letter equals the gold letter, else 0 (pred.py strips the response
// first; the search is unanchored, so stripping changes nothing).
double longbench_v2_score(const std::string& prediction, const std::string& gold_letter);

}  // namespace claa
