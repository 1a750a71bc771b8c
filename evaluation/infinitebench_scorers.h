// Per-sample scorers of InfiniteBench (OpenBMB/InfiniteBench src/compute_scores.py) and SCBench
// (microsoft/MInference scbench/compute_scores.py, a fork of the former whose kv_retrieval and
// longdialogue_qa_eng differ). Each returns 0..1 (a bool as 0/1); a dataset's score is 100 × the mean.
// tools/make_benchmark_goldens.py runs copies of the Python functions on
// tests/fixtures/datasets/benchmark_scorer_cases.json; tests/evaluation/test_benchmark_scorers.cpp compares.
//
// Known differences from CPython (outside what these English benchmarks produce): str.upper() is
// ASCII-only here; re's [^0-9] is ASCII in both.
#pragma once

#include <string>
#include <vector>

namespace claa {

// compute_scores.py first_int_match: the first run of ASCII digits, "" if none.
std::string first_int_match(const std::string& prediction);

// get_score_one_passkey / get_score_one_number_string: label == first_int_match(pred).
double infinitebench_passkey_score(const std::string& prediction, const std::string& label);

// InfiniteBench get_score_one_kv_retrieval: \n : " ' . , ? ! { } → space, str.split(), label among the words.
double infinitebench_kv_retrieval_score(const std::string& prediction, const std::string& label);

// get_score_one_longbook_choice_eng; `labels` is eval_utils.get_answer's [option text, letter].
// Reproduces the reference's quirks: the first character decides when it is one of A-D; the last
// fallback accepts any word that is a substring of "ABCD" ("AB" included).
double infinitebench_choice_score(const std::string& prediction, const std::vector<std::string>& labels);

// get_score_one_longbook_qa_eng: qa_f1_score maximised over the labels (same normalisation as LongBench).
double infinitebench_qa_f1_score(const std::string& prediction, const std::vector<std::string>& labels);

// SCBench get_score_one_kv_retrieval (used for scbench_kv, scbench_prefix_suffix): label ⊂ pred.
double scbench_kv_score(const std::string& prediction, const std::string& label);

// SCBench get_score_one_longdialogue_qa_eng (used for scbench_qa_eng): any label.upper() ⊂ pred.strip().upper().
double scbench_qa_score(const std::string& prediction, const std::vector<std::string>& labels);

// SCBench string_match_all (scbench_vt): round(Σ_r [lower(r) ⊂ lower(pred)] / |refs|, 2).
double scbench_string_match_all(const std::string& prediction, const std::vector<std::string>& references);

// Dispatch by task: "passkey", "number_string", "kv_retrieval", "longbook_qa_eng", "longbook_choice_eng",
// "scbench_kv", "scbench_prefix_suffix", "scbench_vt", "scbench_qa_eng", "scbench_choice_eng".
// claa::Error for another task or for answers the task cannot score (empty).
double benchmark_task_score(const std::string& task, const std::string& prediction,
                            const std::vector<std::string>& answers);

}  // namespace claa
