// LongBench v2 (THUDM/LongBench, branch main: pred.py, prompts/0shot.txt, result.py): 503
// multiple-choice questions A/B/C/D over long contexts, scored by accuracy. The data is the HF dataset
// THUDM/LongBench-v2 saved as data.json (a JSON array) or as JSONL; each record holds
// _id, domain, sub_domain, difficulty, length, question, choice_A..choice_D, answer, context.
#pragma once

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

}  // namespace claa
