// kvpress's result folders read back as a claa e2e run (`claa import --kvpress DIR... --out RUN`), so
// kvpress's leaderboard answers get claa's report (accuracy per method × keep, paired with the other
// folders' answers on the same samples). Each DIR holds what kvpress's evaluate.py writes:
// config.yaml (dataset, data_dir, press_name, compression_ratio, query_aware) and predictions.csv
// (task, predicted_answer, answer, one row per sample). RULER only: each answer is scored again with
// claa's RULER scorers (string_match_part for qa tasks, string_match_all else: kvpress's rule).
//
// Samples are matched across folders by the `id` column where there is one (claa's exports), else
// by their order within each task (kvpress writes its dataset's rows in the dataset's order).
// Methods: "full" for no_press, else "kvpress/PRESS" (+ "+query_aware"), keep = 1 − compression_ratio.
#pragma once

#include <string>
#include <vector>

namespace claa {

// Writes RUN/samples.jsonl and RUN/run.json; returns the number of samples. claa::Error naming the
// file on a missing or malformed folder, a non-RULER dataset, or two folders with one method × keep.
int64_t import_kvpress(const std::vector<std::string>& folders, const std::string& run_dir);

}  // namespace claa
