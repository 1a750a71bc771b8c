// End-task scorers: RULER's string matching and LongBench v1's metrics (datasets.md), reproducing
// the reference Python code:
//  - RULER: scripts/eval/evaluate.py (postprocess_pred) and scripts/eval/synthetic/constants.py
//    (string_match_all / string_match_part).
//  - LongBench: LongBench/metrics.py and LongBench/eval.py (scorer, dataset2metric), with ROUGE-L of the
//    PyPI `rouge` package 1.0.1 and fuzz.ratio of fuzzywuzzy 0.18 backed by python-Levenshtein.
// tools/make_metric_goldens.py runs those references on the cases in tests/fixtures/metrics/.
//
// Text is UTF-8. Python works on code points, so the scorers decode to code points wherever that can
// change a result (lowercasing, whitespace splitting, \b word boundaries, edit similarity). Known
// differences from CPython, all outside what English benchmarks produce:
//  - lowercasing covers ASCII, Latin-1, Latin Extended-A, Greek (no final-sigma rule), Cyrillic and
//    fullwidth Latin; other scripts are left unchanged (Python's str.lower() handles all of Unicode);
//  - `\w` for the `\b(a|an|the)\b` rule: ASCII and Latin-1 exact; other non-ASCII code points count as
//    word characters except combining marks U+0300–U+036F and the common punctuation/symbol blocks
//    (U+2000–U+2BFF, U+3000–U+303F, fullwidth ASCII punctuation, emoji planes);
//  - `\d` matches ASCII digits only (Python also matches other Unicode decimal digits);
//  - invalid UTF-8 bytes decode to U+FFFD (Python would have refused to load the file).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace claa {

// ---------------------------------------------------------------------------------------------
// RULER (per-sample scores in 0..100)
// ---------------------------------------------------------------------------------------------

// RULER's postprocess_pred: strip, replace every [\x00-\x1f] with "\n", strip again.
std::string ruler_postprocess(const std::string& prediction);

// Σ_r [lower(r) ⊂ lower(pred)] / |refs| × 100, pred postprocessed first. claa::Error when refs is empty.
double string_match_all(const std::string& prediction, const std::vector<std::string>& references);
// max_r [lower(r) ⊂ lower(pred)] × 100, pred postprocessed first. claa::Error when refs is empty.
double string_match_part(const std::string& prediction, const std::vector<std::string>& references);

// ---------------------------------------------------------------------------------------------
// Python str semantics on UTF-8 text (code points, CPython's whitespace), for the other scorers
// (InfiniteBench, SCBench) that follow Python code: str.split(), str.strip(), str.lower().
// ---------------------------------------------------------------------------------------------

std::vector<std::string> python_split(const std::string& text);
std::string python_strip(const std::string& text);
std::string python_lower(const std::string& text);

// ---------------------------------------------------------------------------------------------
// LongBench metrics (per prediction/ground-truth pair, 0..1)
// ---------------------------------------------------------------------------------------------

// metrics.normalize_answer: lower, drop string.punctuation, \b(a|an|the)\b → " ", collapse whitespace.
std::string normalize_answer(const std::string& text);

// metrics.qa_f1_score: multiset F1 over the whitespace tokens of the normalised texts.
double qa_f1_score(const std::string& prediction, const std::string& ground_truth);

// Python's CPython 3.11 recursion limit makes rouge's recursive LCS reconstruction (_recon) raise
// RecursionError for paths longer than this many calls when called from LongBench's eval.py; the
// bare `except` in rouge_score then returns 0. Measured with rouge 1.0.1 on Python 3.11.
constexpr int64_t kLongBenchRougeReconCallLimit = 991;

// metrics.rouge_score: ROUGE-L F of `rouge` (Rouge().get_scores([pred], [gt], avg=True)["rouge-l"]["f"]),
// 0 when either text has no sentence (empty or only dots). Case-sensitive, no normalisation.
// `recon_call_limit` > 0 reproduces the RecursionError → 0 quirk above; 0 disables it.
double rouge_l_score(const std::string& prediction, const std::string& ground_truth,
                     int64_t recon_call_limit = kLongBenchRougeReconCallLimit);

// metrics.classification_score, including its remove-while-iterating quirk (a class right after a
// removed one is never checked for removal).
double classification_score(const std::string& prediction, const std::string& ground_truth,
                            const std::vector<std::string>& all_classes);

// metrics.retrieval_score: gold id from the first `Paragraph (\d+)` in the ground truth; share of the
// digit runs in the prediction equal to it (0 without digits). claa::Error when the ground truth has no
// `Paragraph N` (Python raises IndexError).
double retrieval_score(const std::string& prediction, const std::string& ground_truth);

// metrics.count_score: share of the digit runs in the prediction equal to the ground truth string.
double count_score(const std::string& prediction, const std::string& ground_truth);

// fuzzywuzzy fuzz.ratio with python-Levenshtein: 100 if equal, 0 if either is empty, else
// round-half-even(100 · (1 − indel_distance / (len1 + len2))) over code points.
int fuzz_ratio(const std::string& a, const std::string& b);

// metrics.code_sim_score: the first line of prediction.lstrip('\n') containing none of '`', '#', "//"
// (or "" if every line does), fuzz_ratio against the ground truth, / 100.
double code_sim_score(const std::string& prediction, const std::string& ground_truth);

// ---------------------------------------------------------------------------------------------
// Lookup and dataset tables
// ---------------------------------------------------------------------------------------------

// A per-sample scorer over all gold references. RULER scorers return 0..100 (max_score 100);
// LongBench scorers return the max over references of the pair metric (0 with no references) in 0..1.
struct SampleScorer {
  std::string name;
  double max_score = 1.0;
  std::function<double(const std::string& prediction, const std::vector<std::string>& references,
                       const std::vector<std::string>& all_classes)>
      score;
};

// "string_match_all", "string_match_part", "qa_f1", "rouge", "classification", "retrieval", "count",
// "code_sim". claa::Error for anything else.
const SampleScorer& scorer_by_name(const std::string& name);

// eval.py scorer() for one sample (the dataset's metric: datasets/longbench.h longbench_metric): first-line rule where
// it applies, then the max over the gold answers of the dataset's metric (0 with no answers). Returns 0..1; the dataset
// score is 100 × the mean.
double longbench_score(const std::string& dataset, const std::string& prediction,
                       const std::vector<std::string>& answers, const std::vector<std::string>& all_classes);

}  // namespace claa
