// LazyLLM (Fu et al. 2024, arXiv 2407.14057, §3.2–3.3; no public code). A token's importance at
// layer l is the last prompt token's attention to it averaged over the heads,
// s^l_i = (1/H) Σ_h A^l_{h,N,i}; at a few pruning layers the tokens below the top-k percentile of
// the tokens still alive are pruned, and the pruning is progressive: a token pruned at one stage is
// not computed in later layers, later stages prune more.
//
// Rank mode (method.md §6), from one unpruned capture: the ranking at layer l is a token's worst
// percentile of s over the pruning stages at or before l and l itself, so the top-k of the ranking
// is the set that survives every stage so far when each stage keeps the same share (pruned tokens'
// later attention is not simulated). Ties keep the lower index. Parameters: `stages`, the pruning
// layers as fractions of the depth (layer = ⌊f·L⌋).
#include <cmath>

#include "core/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

// Percentile of each entry of s [N] among s: 1 for the largest, 1/N for the smallest (ties: lower
// index ranks higher, as everywhere).
at::Tensor percentiles(const at::Tensor& s) {
  const int64_t n = s.numel();
  at::Tensor order = std::get<1>(at::sort(s.to(at::kFloat), /*stable=*/true, /*dim=*/0, /*descending=*/true));
  at::Tensor place = at::empty({n}, order.options());
  place.index_put_({order}, at::arange(n, order.options()));
  return 1.0 - place.to(at::kFloat) / static_cast<double>(n);
}

class LazyLLM : public Heuristic {
 public:
  explicit LazyLLM(const nlohmann::json& p) : stages_(p["stages"].get<std::vector<double>>()) {
    for (double f : stages_) require(f >= 0 && f < 1, "lazyllm: stages are fractions of the depth in [0, 1)");
  }
  std::string name() const override { return "lazyllm"; }
  CaptureNeeds needs() const override { return {.last_query = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const int n_layers = static_cast<int>(in.capture.layers.size());
    at::Tensor worst = percentiles(importance(in.capture, layer));
    for (double f : stages_) {
      const int stage = static_cast<int>(std::floor(f * n_layers));
      if (stage < layer) worst = at::minimum(worst, percentiles(importance(in.capture, stage)));
    }
    return {worst.unsqueeze(0), worst, {}};
  }

 private:
  static at::Tensor importance(const CaptureResult& c, int layer) { return c.layers.at(layer).last_attn.mean(0); }
  std::vector<double> stages_;
};

}  // namespace

HeuristicInfo lazyllm_heuristic() {
  return {"lazyllm", "LazyLLM: last token's attention, progressive over pruning stages",
          {{"stages", {0.25, 0.5, 0.75}}},
          [](const nlohmann::json& p) { return std::make_unique<LazyLLM>(p); }};
}

}  // namespace claa
