// LongBench v1 (THUDM/LongBench, LongBench/): the 16 English datasets from the user's JSONL files.
// Prompt templates: config/dataset2prompt.json; output budgets: config/dataset2maxlen.json; the
// chat-template exceptions and the middle truncation: pred.py (truncation happens in build_prompt,
// PromptOptions::max_prompt_tokens, because it needs the model's tokenizer).
#pragma once

#include <string>
#include <vector>

#include "datasets/jsonl_io.h"
#include "datasets/sample.h"

namespace claa {

// Verbatim dataset2prompt.json entry ({context} and {input} placeholders). claa::Error if unknown.
const std::string& longbench_prompt(const std::string& dataset);
// dataset2maxlen.json (trec 64; the CLAA authors' FastKV config uses 4, see LongBenchOptions).
int longbench_max_new_tokens(const std::string& dataset);
// The 16 English LongBench v1 datasets, in LongBench's order.
const std::vector<std::string>& longbench_datasets();
// Scorer name of a LongBench dataset (eval.py dataset2metric), e.g. "hotpotqa" → "qa_f1".
const std::string& longbench_metric(const std::string& dataset);
// Report category of a LongBench dataset, e.g. "hotpotqa" → "Multi-Doc QA".
const std::string& longbench_category(const std::string& dataset);
// Whether only the first line of the prediction is scored (trec, triviaqa, samsum, lsht).
bool longbench_first_line_only(const std::string& dataset);
// pred.py: no chat template for trec, triviaqa, samsum, lsht, lcc, repobench-p.
bool longbench_uses_chat(const std::string& dataset);

struct LongBenchOptions {
  int trec_max_new_tokens = 64;  // LongBench's value; 4 reproduces the CLAA code (FastKV dataset2maxlen.json)
  OnError on_error = OnError::Stop;
  std::vector<std::string> datasets;  // empty = every English dataset found
};

// One record {input, context, answers, length, dataset, language, all_classes, _id} -> Sample.
Sample longbench_sample(const nlohmann::json& record, const std::string& dataset, const LongBenchOptions& o);

// `path` is a folder holding <dataset>.jsonl files, or one such file (the dataset is the file name).
std::vector<Sample> load_longbench(const std::string& path, const LongBenchOptions& options = {});

}  // namespace claa
