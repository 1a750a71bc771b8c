// Aggregation of a run's per-sample ranking metrics (method.md §3) into the numbers the reports show.
//
// Input: samples.jsonl records written by the runner, one per prompt (schema in docs; parsed by
// parse_sample). Aggregation, for every heuristic × layer × metric:
//  1. dataset scope: mean over the dataset's samples; stderr = sample std / sqrt(n); n = samples.
//  2. category scope: mean of the category's dataset means (every dataset weighs the same, however many
//     samples it has); stderr = sqrt(Σ_d stderr_d²) / D, the standard error of that equally-weighted
//     mean of independent dataset means; n = samples summed over the D datasets.
//  3. overall scope: the same as 2 over ALL datasets (not a mean of category means).
// A metric a dataset lacks (evidence_recall without gold spans) is averaged over the datasets that have it.
// Empty-answer samples have no oracle, hence no ranking metrics: they are counted (per dataset and in
// total) and left out of every ranking aggregate. They DO count in the task score (their score is the
// runner's, usually 0), because an empty answer is a real task failure. Task scores are in points:
// 100 × score / max_score per sample (LongBench scorers give 0..1 with max_score 1, RULER 0..100), then
// averaged like everything else.
// Per heuristic and scope, a summary over the per-layer means: mean ρ and recall@k averaged over layers,
// best/worst layer by mean ρ (ties → lower index), sample std of the per-layer mean ρ across layers,
// and the layers whose mean ρ is below the threshold (run.json config.report.rho_threshold, default 0.3).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/resampling.h"
#include "evaluation/stats.h"
#include "reports/record_fields.h"

namespace claa {

// ---------------------------------------------------------------------------------------------
// Per-sample records
// ---------------------------------------------------------------------------------------------

// One heuristic's metrics on one layer of one sample. Vectors have one entry per keep rate.
struct LayerRecord {
  // NaN/Inf counts in the heuristic's scores / the oracle at this layer; when either is non-zero the
  // record holds no metrics and the layer is left out of every average (listed in the report).
  int64_t nonfinite = 0, oracle_nonfinite = 0;
  double spearman = 0.0, kendall = 0.0;
  bool degenerate = false;
  std::vector<double> recall, mass_recall, ndcg;
  std::vector<double> evidence_recall;  // empty when the dataset has no gold spans
};

struct HeuristicRecord {
  std::string name, note;
  bool layer_independent = false;
  std::vector<LayerRecord> layers;
};

struct SampleRecord : record::RecordHeader {
  int64_t prompt_tokens = 0;
  bool empty_answer = false;
  double score = 0.0;
  std::vector<double> keep_rates;
  std::vector<HeuristicRecord> heuristics;  // empty for empty answers
  bool has_timing = false;  // from the record's "timing" or RUN_DIR/timings.jsonl
  double prefill_seconds = 0.0, decode_seconds = 0.0;
  // Per heuristic label: {scoring seconds, metric seconds} (timings.jsonl "heuristics").
  std::map<std::string, std::pair<double, double>> heuristic_seconds;
};

// One record; claa::Error "WHERE: ..." on a missing or mistyped field.
SampleRecord parse_sample(const nlohmann::json& j, const std::string& where);

// Reads samples.jsonl files and concatenates them in order. Blank lines are skipped. An unparsable
// LAST non-blank line of a file is a torn write (the runner was killed) and is ignored and recorded;
// an unparsable line anywhere else is claa::Error "FILE:LINE: ...". A sample id seen twice (within or
// across files) is an error too, since merging shards must not count a sample twice.
std::vector<SampleRecord> load_samples(const std::vector<std::string>& paths, LoadStats* stats = nullptr);

// ---------------------------------------------------------------------------------------------
// Aggregates
// ---------------------------------------------------------------------------------------------


struct HeuristicSummary {
  double mean_rho = 0.0, mean_kendall = 0.0;  // averaged over layers
  std::vector<double> recall;                 // per keep rate, averaged over layers
  int best_layer = 0, worst_layer = 0;        // by mean ρ
  double best_rho = 0.0, worst_rho = 0.0;
  double layer_std = 0.0;  // sample std of the per-layer mean ρ across layers
  std::vector<int> layers_below;  // layers with mean ρ < threshold
};

struct HeuristicAggregate {
  std::string name;
  std::vector<std::vector<Stat>> layers;  // [layer][metric index into RunAggregate::metrics]
  HeuristicSummary summary;
  bool has_data = false;  // false when no sample of the scope had this heuristic
};

struct ScopeAggregate {
  std::string kind;  // "overall" | "category" | "dataset"
  std::string name;  // "overall", the category name, or the dataset name
  std::vector<std::string> datasets;         // the datasets in the scope, sorted
  std::vector<HeuristicAggregate> heuristics;  // in RunAggregate::heuristics order
  Stat score;                                  // task score in points, same two-level averaging
  int64_t samples = 0, empty_answers = 0;
  // "overall", "category:NAME" or "dataset:NAME": unambiguous scope label for CSV and baselines.
  std::string label() const { return kind == "overall" ? kind : kind + ":" + name; }
};

struct HeuristicMeta {
  std::string name, note;
  bool layer_independent = false;
};

struct DatasetInfo {
  std::string name, task, category;
  int64_t samples = 0, empty_answers = 0;
  double max_score = 100.0;
  Stat prefill_seconds, decode_seconds;
  std::vector<std::string> empty_ids;  // ids of the empty-answer samples, sorted
};

// Budget diagnostics of a row aggregate (CLAA), averaged over samples (reports/budget_report.h).
struct BudgetRowAggregate {
  int layer = 0, head = 0;  // head −1 = the layer's head sum
  Stat share;               // share of the slots this row wins
  double raw_std = 0, max_value = 0, p99_value = 0;  // means over samples
  double evidence_best = 0;  // mean over samples with evidence (NaN: none)
  int64_t evidence_samples = 0;
};

struct BudgetAggregate {
  std::string owner;        // heuristic label (rank) or method label (e2e)
  int layer = 0;            // the layer whose aggregate was diagnosed
  double keep = 0;
  std::string normalize;
  int64_t samples = 0;
  double slots = 0;         // mean slots per sample
  double evidence_best_any = 0;  // mean over samples with evidence of the best value over all rows (NaN: none)
  std::vector<BudgetRowAggregate> rows;  // sorted by (layer, head)
};

// Multi-turn samples (SCBench, harness/runner/multi_turn.h): one row per dataset × heuristic × turn.
// A sample's value is its mean over layers (layers with NaN/Inf left out); the Stat is over samples.
struct TurnAggregate {
  std::string dataset, heuristic;
  int turn = 1;                        // 1-based
  Stat one_shot_rho, fresh_rho;        // Spearman vs turn t's oracle on the context tokens
  Stat one_shot_recall, fresh_recall;  // recall@k at the run's first keep rate
  Stat score;                          // task score of turn t in points (100 × score / max_score)
  int64_t skipped = 0;                 // samples without metrics at this turn (empty answer, context mismatch)
};

// What one heuristic cost over the samples that recorded it (timings.jsonl): scoring (its own
// forwards and statistics included) and the comparisons with the oracle, beside the same samples'
// capture prefill.
struct HeuristicCost {
  std::string name;
  int64_t samples = 0;
  double score_seconds = 0, compare_seconds = 0, prefill_seconds = 0;  // sums over those samples
};

// The report's lead metric (docs/findings.md "Which rank metric predicts the answer") at l_p = L/2 − 1,
// paired: per keep rate, every heuristic against the best one there (the highest mean over its samples),
// on the samples both have; one Holm family over the table, of every pair of heuristics at every keep rate
// (Σ over keeps of H_k (H_k − 1) / 2, H_k the heuristics with the metric there), because the best is chosen
// from the same samples (method.md §6 "Paired ρ"; lead_metric.cpp).
struct LeadComparison {
  std::string base;  // "evidence_recall", or "mass_recall" when the datasets have no gold spans
  int layer = 0;
  ResamplingOptions options;
  size_t family_size = 0;                            // M of the Holm family
  std::vector<std::pair<double, std::string>> best;  // keep → best heuristic
  std::vector<PairedDiff> vs_best;                   // every other heuristic × keep
};

// Paired comparisons of Spearman ρ with the oracle between heuristics (method.md §6 "Paired ρ";
// paired_rho.cpp). Each table's reference is its best heuristic: the highest mean ρ the table shows. A
// sample's value is its ρ at the table's layer, or for a heuristics table its mean over the layers it
// has (layers with NaN/Inf or a NaN ρ left out). Δ weighs every dataset of the scope the same and the
// samples within a dataset alike (each of the n_d samples of one of D datasets weighs 1 / (D · n_d)),
// as the tables' means do, so Δ is the difference of the two means the table shows whenever both
// heuristics have ρ at every layer of every sample; with one dataset, or equal n_d, every sample weighs
// the same. Implemented as paired_difference on the values scaled by N / (D · n_d): the bootstrap
// resamples the pooled samples (not stratified by dataset), the sign-flip test is exact or Monte Carlo
// as paired_permutation_p says. Holm: the reference is chosen from the same samples, so each table's
// comparisons are adjusted as the tested part of the family of ALL pairs of its heuristics, M = H (H − 1) / 2
// (holm_adjust with a family size; for the per-layer table, per layer: which heuristics tie that layer's best).
struct PairedTable {
  std::string scope;  // "overall", "category:NAME" or "dataset:NAME" (ScopeAggregate::label)
  int layer = -1;     // −1: mean ρ over layers (a heuristics table); else that layer (the per-layer table)
  std::string best;   // "" when no heuristic has data
  std::vector<PairedDiff> vs_best;  // every other heuristic with data, in RunAggregate::heuristics order
  size_t family_size = 0;           // M: all pairs of the heuristics with data (all_pairs)
  int64_t permutations = 0;         // Monte Carlo sign patterns of its Holm family (family_permutations)
  bool permutations_capped = false;  // family_permutations_capped: the smallest Holm p is 2M / (R + 1)
};

struct RhoComparison {
  ResamplingOptions options;        // report.statistics as configured
  std::vector<PairedTable> scopes;  // one per RunAggregate::scopes entry, same order; Holm within each
  std::vector<PairedTable> layers;  // the overall scope, one per layer; Holm within each layer
};

struct RunAggregate {
  std::vector<double> keep_rates;
  int n_layers = 0;
  double rho_threshold = 0.3;
  std::vector<std::string> metrics;       // "spearman", "kendall", "recall@0.1", ..., "evidence_recall@0.4"
  std::vector<HeuristicMeta> heuristics;  // sorted by name
  std::vector<DatasetInfo> datasets;      // sorted by name
  std::vector<ScopeAggregate> scopes;     // overall, then categories (sorted), then datasets (sorted)
  int64_t samples = 0, empty_answers = 0;
  // "SAMPLE: heuristic H, layer L: 3 NaN/Inf scores" per sample × heuristic × layer left out of the
  // averages because its scores or the oracle were not finite.
  std::vector<std::string> nonfinite;
  LoadStats load;
  nlohmann::json run;  // run.json as read (null when absent)
  std::vector<BudgetAggregate> budgets;  // budget diagnostics of row aggregates (CLAA), when recorded
  std::vector<TurnAggregate> turns;      // multi-turn datasets only (reports/turn_report.h)
  std::vector<HeuristicCost> costs;      // sorted by name; empty when no timings were recorded
  LeadComparison lead;
  RhoComparison rho_paired;  // the heuristics tables and the per-layer ρ table, paired (paired_rho.cpp)

  const ScopeAggregate& overall() const { return scopes.front(); }
  // Index of a metric name in `metrics`, or -1.
  int metric_index(const std::string& metric) const;
};

// "recall@0.1": the metric name for a keep rate (shortest round-trip formatting of the rate).
std::string metric_name(const std::string& base, double keep_rate);

struct AggregateOptions {
  double rho_threshold = 0.3;
  ResamplingOptions statistics;  // run.json "statistics" (the lead metric's paired comparison)
};

// "evidence_recall" when the run has evidence spans, else "mass_recall".
std::string lead_metric_base(const RunAggregate& agg);
LeadComparison compare_lead_metric(const std::vector<SampleRecord>& samples, const RunAggregate& agg,
                                   const ResamplingOptions& options);
// The Monte Carlo permutation count a Holm family of M = family_size hypotheses uses: the configured count,
// raised to ⌈4 M / (1 − level)⌉ when that is more, because the smallest Monte Carlo p is 2 / (R + 1) and Holm
// multiplies it by up to M: with this count the clearest differences can reach Holm p ≤ (1 − level) / 2. The
// raise stops at kMaxFamilyPermutations (the cost is tests × R × samples sign draws); a configured count above
// it is kept.
constexpr int64_t kMaxFamilyPermutations = 100000;
int64_t family_permutations(const ResamplingOptions& options, size_t family_size);
// Whether family_permutations stopped below ⌈4 M / (1 − level)⌉, so that Holm p cannot reach (1 − level) / 2.
bool family_permutations_capped(const ResamplingOptions& options, size_t family_size);

RhoComparison compare_rho(const std::vector<SampleRecord>& samples, const RunAggregate& agg,
                          const ResamplingOptions& options);

// config.report.rho_threshold from run.json, or 0.3 when absent.
double rho_threshold_from_run(const nlohmann::json& run);

// Validates consistency (same keep rates, same layer count, one category per dataset) and aggregates.
// claa::Error when there is no sample at all.
RunAggregate aggregate_samples(const std::vector<SampleRecord>& samples, const AggregateOptions& options);

// Fills prefill/decode seconds from a timings.jsonl ({"id", "prefill_seconds", "decode_seconds"} per line)
// for the samples that have no "timing" of their own, and each heuristic's seconds from the line's
// "heuristics": {LABEL: {"score_seconds", "compare_seconds"}}. Unparsable lines and unknown ids are skipped;
// a wrongly typed value (a string for seconds, a heuristic entry that is not an object) is claa::Error
// "FILE:LINE: ...".
void merge_timings(const std::string& path, std::vector<SampleRecord>& samples);

// Each heuristic's summed seconds over the samples that recorded them, sorted by name.
std::vector<HeuristicCost> heuristic_costs(const std::vector<SampleRecord>& samples);

// RUN_DIR/samples.jsonl (or `sample_files` when given) + RUN_DIR/run.json and RUN_DIR/timings.jsonl
// (both optional).
RunAggregate aggregate_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files = {});

}  // namespace claa
