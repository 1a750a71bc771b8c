// kvpress's result folders from a claa e2e run (`claa export --kvpress RUN DIR`), so a claa run sits
// beside kvpress's leaderboard results: one folder per method × keep rate, named and filled as
// NVIDIA/kvpress evaluation/evaluate.py writes them:
//
//   DIR/ruler__<length>__<model>__<press_name>__<compression_ratio:.2f>[__query_aware]/
//       predictions.csv   one row per sample: task, question, answer_prefix, answer (the gold list),
//                         max_new_tokens, predicted_answer, compression_ratio (+ claa's id and score)
//       metrics.json      {task: {"string_match": points}}: the mean of claa's RULER scores per task,
//                         kvpress's ruler scorer's rule (string_match_all, qa tasks string_match_part)
//       config.yaml       the fields kvpress's config holds, plus claa's method, run and parameters
//
// compression_ratio = 1 − keep; press_name is kvpress's registry name for a `kvpress` pipeline
// whose heuristic resolves to its "kvpress" preset (snapkv, knorm, streaming_llm, ...), "no_press"
// for the full prefill, and
// "claa-<label>" for anything kvpress does not have (fastkv, claa, ...). RULER datasets only (the
// other benchmarks' kvpress scorers differ from claa's).
#pragma once

#include <string>
#include <vector>

namespace claa {

// Returns the folders written, in order; claa::Error on a run that is not an e2e run of RULER data.
std::vector<std::string> export_kvpress(const std::string& run_dir, const std::string& out_dir);

// kvpress's name for a claa pipeline label ("kvpress:snapkv@kvpress" → "snapkv", "full" → "no_press",
// "fastkv" → "claa-fastkv"); query_aware is set for kvpress_query_aware pipelines.
std::string kvpress_press_name(const std::string& method_label, bool& query_aware);

}  // namespace claa
