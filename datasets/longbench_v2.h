// LongBench v2 (THUDM/LongBench, branch main: pred.py, prompts/0shot.txt, result.py): 503
// multiple-choice questions A/B/C/D over long contexts, scored by accuracy. The data is the HF dataset
// THUDM/LongBench-v2 saved as data.json (a JSON array) or as JSONL; each record holds
// _id, domain, sub_domain, difficulty, length, question, choice_A..choice_D, answer, context.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datasets/jsonl_io.h"
#include "datasets/sample.h"

namespace claa {

// pred.py query_llm(..., max_new_tokens=128) without chain of thought.
constexpr int kLongBenchV2MaxNewTokens = 128;

// One record → Sample (prompts/0shot.txt, fields .strip()ped as pred.py does; the chat template applies,
// pred.py sends the prompt as one user message). claa::Error naming the field on bad input.
Sample longbench_v2_sample(const nlohmann::json& record);

// data.json (JSON array) or a .jsonl file; errors name FILE:LINE.
std::vector<Sample> load_longbench_v2(const std::string& path, OnError on_error = OnError::Stop);

// pred.py extract_answer: drop '*', then "The correct answer is (X)" or else "The correct answer is X",
// X in A-D, first match. nullopt when neither matches (pred is None; result.py counts it wrong).
std::optional<char> longbench_v2_extract_answer(const std::string& response);

// result.py: 1 when the extracted letter equals the gold letter, else 0 (pred.py strips the response
// first; the search is unanchored, so stripping changes nothing).
double longbench_v2_score(const std::string& prediction, const std::string& gold_letter);

}  // namespace claa
