// SCBench (microsoft/MInference scbench/, SharedContextBench, arXiv 2412.10319): a long shared context
// and several turns of questions on it, from the user's JSONL files (HF dataset microsoft/SCBench saved
// as <task>.jsonl). Record: {id, context, multi_turns: [{input, answer[, options]}, ...]}.
//
// Multi-turn mode with golden context, as scbench/eval_utils.py create_multiturn_prompt and
// GreedySearch.test build it: turn t's prompt is the first turn's prompt (task template around the
// context and question 1), then for every earlier turn the previous turn's GOLD answer as the
// assistant's reply and the next question as a user message, rendered with the chat template
// (raw text: "{pre_ans}\n\n{follow-up}" appended). The model's own answers never enter later prompts,
// so every turn's context tokens are identical — which is what lets a ranking of the context computed
// on turn 1 be compared with the oracle of any later turn.
// Templates: multiturn_templates (turn 1) and multiturn_follow_up_templates_in_chat_tempate (later
// turns); output budgets: DATA_NAME_TO_MAX_NEW_TOKENS; gold labels: get_ground_truth; scorers:
// scbench/compute_scores.py (evaluation/infinitebench_scorers.h).
#pragma once

#include <string>
#include <vector>

#include "datasets/jsonl_io.h"
#include "datasets/sample.h"

namespace claa {

// scbench_kv, scbench_prefix_suffix, scbench_vt, scbench_qa_eng, scbench_choice_eng.
const std::vector<std::string>& scbench_tasks();
int scbench_max_new_tokens(const std::string& task);
// "SCBench string retrieval" (kv, prefix_suffix, vt) or "SCBench semantic retrieval" (qa, choice),
// the benchmark's own grouping.
std::string scbench_category(const std::string& task);

struct ScbenchOptions {
  OnError on_error = OnError::Stop;
  int max_turns = 5;  // scbench/args.py --max_turns default
};

// One record of `task` → a multi-turn Sample (Sample::follow_ups holds turns 2..T).
Sample scbench_sample(const nlohmann::json& record, const std::string& task, const ScbenchOptions& options);

// `path` is a folder holding <task>.jsonl files, or one such file (the task is the file name).
std::vector<Sample> load_scbench(const std::string& path, const ScbenchOptions& options = {});

// The sample as seen at turn t (0-based): turn t's gold answers (for scoring); the prompt of turn t
// comes from build_prompt with PromptOptions::turn = t.
Sample turn_sample(const Sample& s, size_t turn);
inline size_t turn_count(const Sample& s) { return 1 + s.follow_ups.size(); }

}  // namespace claa
