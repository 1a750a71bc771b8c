// InfiniteBench (OpenBMB/InfiniteBench): its retrieval tasks passkey, number_string, kv_retrieval and its
// English QA tasks longbook_qa_eng (En.QA) and longbook_choice_eng (En.MC), from the user's JSONL files
// (HF dataset xinrongzhang2022/InfiniteBench; file names as src/eval_utils.py DATA_NAME_TO_PATH).
// Record: {id, context, input, answer, options}. Prompts: src/prompt.py yarn_mistral_templates (the
// open-model templates src/eval_yarn_mistral.py uses, raw text without a chat template); output budgets:
// src/eval_utils.py DATA_NAME_TO_MAX_NEW_TOKENS; gold labels: eval_utils.get_answer; scorers:
// evaluation/infinitebench_scorers.h.
#pragma once

#include <string>
#include <vector>

#include "datasets/jsonl_io.h"
#include "datasets/sample.h"

namespace claa {

// The supported tasks, in InfiniteBench's order: passkey, number_string, kv_retrieval, longbook_qa_eng,
// longbook_choice_eng.
const std::vector<std::string>& infinitebench_tasks();
int infinitebench_max_new_tokens(const std::string& task);
// "InfiniteBench retrieval" or "InfiniteBench QA" (report category).
std::string infinitebench_category(const std::string& task);

// One record of `task` → Sample. claa::Error naming the field on bad input.
Sample infinitebench_sample(const nlohmann::json& record, const std::string& task);

// `path` is a folder holding <task>.jsonl files, or one such file (the task is the file name).
std::vector<Sample> load_infinitebench(const std::string& path, OnError on_error = OnError::Stop);

}  // namespace claa
