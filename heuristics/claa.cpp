// CLAA, Cross-Layer Attention Aggregation (method.md §2; kv-exps baseline/claa/claa_utils.py):
// at layer l, take the FastKV window scores of the last n layers l−n+1..l (fewer at the bottom
// of the model); z-score each row over its N − W entries (unbiased std + 1e-8); the score of a
// token is the max over all rows.
//   granularity kv_head: rows are S[l', g, :] (n × H_kv rows; the paper's method)
//   granularity layer:   rows are Σ_g S[l', g, :] (n rows; the authors' analysis script)
//   normalize none:      skip the z-score (the raw max degrades as n grows — an ablation)
#include "harness/util/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class Claa : public Heuristic {
 public:
  explicit Claa(const nlohmann::json& p)
      : n_(p["n"].get<int>()), pool_(p["pool"].get<int>()), granularity_(p["granularity"].get<std::string>()),
        normalize_(p["normalize"].get<std::string>()) {
    require(n_ >= 1, "claa: n must be at least 1");
    require(granularity_ == "kv_head" || granularity_ == "layer", "claa: granularity must be kv_head or layer");
    require(normalize_ == "zscore" || normalize_ == "none", "claa: normalize must be zscore or none");
  }
  std::string name() const override { return "claa"; }

  HeuristicScores score(const HeuristicInput& in) const override {
    const int L = static_cast<int>(in.capture.layers.size());
    std::vector<at::Tensor> rows_by_layer;  // [rows, N − W] per layer, normalised
    for (int l = 0; l < L; ++l) {
      at::Tensor rows = window_scores_per_kv_head(in.capture, l, pool_);
      if (granularity_ == "layer") rows = rows.sum(0, true);
      rows_by_layer.push_back(normalize_ == "zscore" ? zscore_rows(rows) : rows);
    }
    HeuristicScores s;
    for (int l = 0; l < L; ++l) {
      std::vector<at::Tensor> window(rows_by_layer.begin() + std::max(0, l - n_ + 1), rows_by_layer.begin() + l + 1);
      s.per_head.push_back(std::get<0>(at::stack(window, 0).max(0)));  // per KV head: max over the n layers
      s.combined.push_back(claa_aggregate(rows_by_layer, l, n_));
    }
    return s;
  }

 private:
  int n_, pool_;
  std::string granularity_, normalize_;
};

}  // namespace

at::Tensor zscore_rows(const at::Tensor& rows) {
  at::Tensor mean = rows.mean(-1, true);
  at::Tensor std = rows.std(-1, /*unbiased=*/true, /*keepdim=*/true);
  return (rows - mean) / (std + 1e-8);
}

at::Tensor claa_aggregate(const std::vector<at::Tensor>& rows_by_layer, int layer, int n) {
  std::vector<at::Tensor> rows(rows_by_layer.begin() + std::max(0, layer - n + 1), rows_by_layer.begin() + layer + 1);
  return std::get<0>(at::cat(rows, 0).max(0));
}

HeuristicInfo claa_heuristic() {
  return {"claa", "CLAA: max over z-scored window-score rows of the last n layers",
          {{"n", 4}, {"pool", 7}, {"granularity", "kv_head"}, {"normalize", "zscore"}},
          [](const nlohmann::json& p) { return std::make_unique<Claa>(p); }};
}

}  // namespace claa
