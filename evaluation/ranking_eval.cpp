#include "evaluation/ranking_eval.h"

#include <ATen/Parallel.h>

#include <chrono>

#include "evaluation/kept_levels.h"
#include "selection/selection.h"

namespace claa {

std::vector<float> to_float_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous().view(-1);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

namespace {

// Budget diagnostics at the requested layers, for heuristics whose layer scores come with rows.
// The slots at each keep rate are the aggregate's top-k, k as for recall@k.
std::vector<BudgetDiagnostics> diagnose(const Heuristic& h, const CaptureResult& capture, const EvalOptions& options,
                                        const std::vector<std::vector<float>>& rankings) {
  std::vector<BudgetDiagnostics> out;
  for (int layer : options.diagnostics_layers) {
    if (layer < 0 || layer >= static_cast<int>(rankings.size())) continue;
    LayerScores s =
        h.score_layer({capture, options.sample_seed, options.prompt_ids, options.model, options.format}, layer);
    if (!s.rows.values.defined()) return out;  // not an aggregate over rows
    std::vector<at::Tensor> slots;
    for (double keep : options.keep_rates) {
      const std::vector<float>& r = rankings[layer];
      slots.push_back(at::tensor(top_k_indices(r, metric_k(keep, static_cast<int64_t>(r.size()))), at::kLong));
    }
    out.push_back(diagnose_rows(s.rows, layer, options.keep_rates, slots, options.evidence));
  }
  return out;
}

// PyramidKV in rank mode (method.md §6): layer l keeps its pyramid share of the uniform k (the
// oracle's set stays the top k), so a layer's extra slots are paid for by another layer's.
std::vector<int64_t> pyramid_counts(const BudgetAllocation& a, const std::vector<double>& keep_rates, int64_t length,
                                    int layer, int n_layers) {
  std::vector<int64_t> kept;
  for (double keep : keep_rates)
    kept.push_back(pyramid_layer_budget(metric_k(keep, length), length, layer, n_layers, a.beta));
  return kept;
}

// The kept sets behind a layer's recall@k (the top k, or PyramidKV's allocated count, of the
// ranking cut to the compared length) as kept_sets records them; "" when the layer's scores were not finite.
nlohmann::json layer_kept_sets(const std::vector<float>& ranking, const RankingMetrics& m,
                               const std::vector<size_t>& ascending) {
  const std::vector<int64_t>& kept = m.k_kept.empty() ? m.k : m.k_kept;
  if (kept.size() != ascending.size()) return "";
  std::vector<int64_t> counts;
  for (size_t i : ascending) counts.push_back(kept[i]);
  const auto n = static_cast<ptrdiff_t>(std::min<int64_t>(m.length, static_cast<int64_t>(ranking.size())));
  return kept_sets(std::vector<float>(ranking.begin(), ranking.begin() + n), counts);
}

}  // namespace

HeuristicEval evaluate_heuristic(const Heuristic& h, const OracleCapture& capture, const EvalOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  HeuristicScores scores = h.score({capture, options.sample_seed, options.prompt_ids, options.model, options.format});
  HeuristicEval e;
  e.name = h.name();
  e.note = scores.note;
  e.layer_independent = scores.layer_independent;
  // The oracle's side of the comparisons (its sorts) is prepared once for every layer (metrics.h).
  const OracleRanking oracle(to_float_vector(capture.oracle));
  const int64_t n_layers = static_cast<int64_t>(scores.combined.size());
  std::vector<std::vector<float>> rankings;
  for (const at::Tensor& r : scores.combined) rankings.push_back(to_float_vector(r));
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<std::vector<float>> layer_oracles;
  if (options.per_layer_oracle)
    for (int64_t l = 0; l < n_layers; ++l) layer_oracles.push_back(to_float_vector(capture.oracle_per_layer[l]));
  e.layers.resize(n_layers);
  if (options.per_layer_oracle) e.vs_layer_oracle.resize(n_layers);
  // Layers are independent: compare them in parallel (sorting dominates at long contexts). A
  // layer-independent ranking vs the one oracle is the same comparison for every layer: do it once.
  const BudgetAllocation allocation = h.allocation();
  const bool per_layer_budget = allocation.kind == BudgetAllocation::Kind::Pyramid;
  const int64_t distinct = scores.layer_independent && !options.per_layer_oracle && !per_layer_budget ? 1 : n_layers;
  at::parallel_for(0, distinct, 1, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) {
      if (allocation.kind == BudgetAllocation::Kind::Pyramid) {
        const int64_t length = static_cast<int64_t>(std::min(rankings[l].size(), oracle.values().size()));
        e.layers[l] = compare_rankings_allocated(
            rankings[l], oracle, options.keep_rates,
            pyramid_counts(allocation, options.keep_rates, length, static_cast<int>(l), static_cast<int>(n_layers)),
            options.evidence);
      } else {
        e.layers[l] = compare_rankings(rankings[l], oracle, options.keep_rates, options.evidence);
      }
      if (options.per_layer_oracle)
        e.vs_layer_oracle[l] = compare_rankings(rankings[l], layer_oracles[l], options.keep_rates, options.evidence);
    }
  });
  for (int64_t l = distinct; l < n_layers; ++l) e.layers[l] = e.layers[0];
  if (options.record_kept_sets) {
    const std::vector<size_t> ascending = ascending_order(options.keep_rates);
    const int64_t recorded = scores.layer_independent && !per_layer_budget ? std::min<int64_t>(1, n_layers) : n_layers;
    for (int64_t l = 0; l < recorded; ++l) e.kept_sets.push_back(layer_kept_sets(rankings[l], e.layers[l], ascending));
  }
  if (h.online()) e.diagnostics = diagnose(h, capture, options, rankings);
  const auto t2 = std::chrono::steady_clock::now();
  e.score_seconds = std::chrono::duration<double>(t1 - t0).count();
  e.compare_seconds = std::chrono::duration<double>(t2 - t1).count();
  if (options.keep_scores) e.scores = std::move(scores);
  return e;
}

nlohmann::json to_json(const RankingMetrics& m) {
  // NaN/Inf inputs: only the counts (the report lists them; aggregation skips the layer).
  if (!m.finite()) return {{"n", m.length}, {"nonfinite", m.nonfinite}, {"oracle_nonfinite", m.oracle_nonfinite}};
  nlohmann::json j = {
      {"n", m.length}, {"spearman", m.spearman}, {"kendall", m.kendall},         {"degenerate", m.degenerate},
      {"k", m.k},      {"recall", m.recall},     {"mass_recall", m.mass_recall}, {"ndcg", m.ndcg}};
  if (!m.k_kept.empty()) j["k_kept"] = m.k_kept;
  if (!m.evidence_recall.empty()) j["evidence_recall"] = m.evidence_recall;
  return j;
}

nlohmann::json to_json(const HeuristicEval& e, const std::vector<double>& keep_rates) {
  nlohmann::json layers = nlohmann::json::array();
  for (const RankingMetrics& m : e.layers) layers.push_back(to_json(m));
  nlohmann::json j = {
      {"name", e.name}, {"keep_rates", keep_rates}, {"layer_independent", e.layer_independent}, {"layers", layers}};
  if (!e.note.empty()) j["note"] = e.note;
  if (!e.diagnostics.empty()) {
    nlohmann::json d = nlohmann::json::array();
    for (const BudgetDiagnostics& b : e.diagnostics) d.push_back(to_json(b));
    j["diagnostics"] = d;
  }
  if (!e.vs_layer_oracle.empty()) {
    nlohmann::json per = nlohmann::json::array();
    for (const RankingMetrics& m : e.vs_layer_oracle) per.push_back(to_json(m));
    j["vs_layer_oracle"] = per;
  }
  return j;
}

}  // namespace claa
