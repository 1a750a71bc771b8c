// Predictive validity of the rank metrics (method.md §5 "Predictive validity"), from a both-mode run:
// on the same samples, each pipeline's selection ranking was compared with the oracle (rank metrics per
// layer) and its answers were scored. Which rank metric says how well the pipeline answers?
//
// Cells are method × keep (pipelines with a selection ranking; Full KV and the oracle emulation have none).
// For a metric M, a sample's value in a cell is
//   at l_p      M at the layer the pipeline prunes with (its "rank_layers" entry), or the mean over layers
//               where no single layer does (kvpress, LazyLLM, SpecPrefill);
//   layer mean  M averaged over the layers with finite metrics;
// for recall@k-style metrics at the cell's keep rate (k = ceil(keep · N')). Its score: points (100 · score /
// max_score); "correct" = full marks.
// Only samples where M is defined in every cell count (evidence recall needs gold spans).
//   across cells  Spearman ρ between the cells' mean M and their mean score;
//   per keep      the same ρ across the methods at one keep rate, averaged over the keep rates (keep-free
//                 metrics such as ρ can only order methods, not budgets);
//   within cells  AUC of M separating correct from wrong answers, pairs only within a cell (stratified);
// each with a percentile-bootstrap interval over the samples (resampling.h; the same resamples for both).
// Metrics are ranked by ρ across cells; the first is the report's lead metric.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "evaluation/resampling.h"
#include "reports/aggregate.h"
#include "reports/e2e_records.h"

namespace claa {

// One both-mode record: its rank part, its answers, and each ranking's l_p (−1: mean over layers).
struct BothSample : record::RecordHeader {
  SampleRecord rank;
  E2eSample e2e;
  std::map<std::string, int> rank_layers;
};

BothSample parse_both_sample(const nlohmann::json& j, const std::string& where);
std::vector<BothSample> load_both_samples(const std::vector<std::string>& paths, LoadStats* stats = nullptr);

struct ValidityCell {
  std::string method;
  double keep = 0.0;
  double metric = 0.0, score = 0.0;  // means over the metric's samples
};

struct MetricValidity {
  std::string name;  // "evidence_recall@l_p", "spearman (layer mean)", ...
  std::string base;  // spearman, kendall, recall, mass_recall, ndcg, evidence_recall
  bool at_prune_layer = true;
  int64_t samples = 0;  // samples where the metric is defined in every cell
  std::vector<ValidityCell> cells;
  double rho = 0.0;  // across cells
  Interval rho_ci;
  double rho_per_keep = 0.0;  // across the methods at each keep rate, averaged over keep rates
  Interval rho_per_keep_ci;
  double auc = 0.0;  // within cells
  Interval auc_ci;
};

struct ValidityAnalysis {
  ResamplingOptions options;
  int64_t samples = 0;                                // samples with rank metrics (non-empty full-KV answer)
  int64_t empty_answers = 0;                          // left out: no oracle
  std::vector<std::pair<std::string, double>> cells;  // (method, keep), in report order
  std::vector<MetricValidity> metrics;                // best ρ first
};

// claa::Error when no sample has rank metrics or fewer than 3 cells exist (no correlation to speak of).
ValidityAnalysis analyse_validity(const std::vector<BothSample>& samples, const ResamplingOptions& options);

nlohmann::ordered_json validity_json(const ValidityAnalysis& v);

}  // namespace claa
