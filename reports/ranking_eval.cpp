#include "reports/ranking_eval.h"

#include <ATen/Parallel.h>

namespace claa {

std::vector<float> to_float_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous().view(-1);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

HeuristicEval evaluate_heuristic(const Heuristic& h, const CaptureResult& capture, const EvalOptions& options) {
  HeuristicScores scores = h.score({capture, options.sample_seed, options.prompt_ids, options.model});
  HeuristicEval e;
  e.name = h.name();
  e.note = scores.note;
  e.layer_independent = scores.layer_independent;
  const std::vector<float> oracle = to_float_vector(capture.oracle);
  const int64_t n_layers = static_cast<int64_t>(scores.combined.size());
  std::vector<std::vector<float>> rankings;
  for (const at::Tensor& r : scores.combined) rankings.push_back(to_float_vector(r));
  std::vector<std::vector<float>> layer_oracles;
  if (options.per_layer_oracle)
    for (int64_t l = 0; l < n_layers; ++l) layer_oracles.push_back(to_float_vector(capture.oracle_per_layer[l]));
  e.layers.resize(n_layers);
  if (options.per_layer_oracle) e.vs_layer_oracle.resize(n_layers);
  // Layers are independent: compare them in parallel (sorting dominates at long contexts). A
  // layer-independent ranking vs the one oracle is the same comparison for every layer: do it once.
  const int64_t distinct = scores.layer_independent && !options.per_layer_oracle ? 1 : n_layers;
  at::parallel_for(0, distinct, 1, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) {
      e.layers[l] = compare_rankings(rankings[l], oracle, options.keep_rates, options.evidence);
      if (options.per_layer_oracle)
        e.vs_layer_oracle[l] = compare_rankings(rankings[l], layer_oracles[l], options.keep_rates, options.evidence);
    }
  });
  for (int64_t l = distinct; l < n_layers; ++l) e.layers[l] = e.layers[0];
  return e;
}

nlohmann::json to_json(const RankingMetrics& m) {
  // NaN/Inf inputs: only the counts (the report lists them; aggregation skips the layer).
  if (!m.finite()) return {{"n", m.length}, {"nonfinite", m.nonfinite}, {"oracle_nonfinite", m.oracle_nonfinite}};
  nlohmann::json j = {{"n", m.length}, {"spearman", m.spearman}, {"kendall", m.kendall},
                      {"degenerate", m.degenerate}, {"k", m.k}, {"recall", m.recall},
                      {"mass_recall", m.mass_recall}, {"ndcg", m.ndcg}};
  if (!m.evidence_recall.empty()) j["evidence_recall"] = m.evidence_recall;
  return j;
}

nlohmann::json to_json(const HeuristicEval& e, const std::vector<double>& keep_rates) {
  nlohmann::json layers = nlohmann::json::array();
  for (const RankingMetrics& m : e.layers) layers.push_back(to_json(m));
  nlohmann::json j = {{"name", e.name}, {"keep_rates", keep_rates}, {"layer_independent", e.layer_independent},
                      {"layers", layers}};
  if (!e.note.empty()) j["note"] = e.note;
  if (!e.vs_layer_oracle.empty()) {
    nlohmann::json per = nlohmann::json::array();
    for (const RankingMetrics& m : e.vs_layer_oracle) per.push_back(to_json(m));
    j["vs_layer_oracle"] = per;
  }
  return j;
}

}  // namespace claa
