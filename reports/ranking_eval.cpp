#include "reports/ranking_eval.h"

namespace claa {

std::vector<float> to_float_vector(const at::Tensor& t) {
  at::Tensor c = t.to(at::kCPU, at::kFloat).contiguous().view(-1);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

HeuristicEval evaluate_heuristic(const Heuristic& h, const CaptureResult& capture, const EvalOptions& options) {
  HeuristicScores scores = h.score({capture, options.sample_seed});
  HeuristicEval e;
  e.name = h.name();
  e.note = scores.note;
  e.layer_independent = scores.layer_independent;
  std::vector<float> oracle = to_float_vector(capture.oracle);
  for (size_t l = 0; l < scores.combined.size(); ++l) {
    std::vector<float> ranking = to_float_vector(scores.combined[l]);
    e.layers.push_back(compare_rankings(ranking, oracle, options.keep_rates, options.evidence));
    if (options.per_layer_oracle) {
      std::vector<float> layer_oracle = to_float_vector(capture.oracle_per_layer[static_cast<int64_t>(l)]);
      e.vs_layer_oracle.push_back(compare_rankings(ranking, layer_oracle, options.keep_rates, options.evidence));
    }
  }
  return e;
}

nlohmann::json to_json(const RankingMetrics& m) {
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
