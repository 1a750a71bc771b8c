// H2O / observed attention (Zhang et al. 2023): column sums of the full causal prompt attention,
// divided by the number of queries that see each key, summed over the heads of each KV group.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class H2O : public Heuristic {
 public:
  std::string name() const override { return "h2o"; }
  CaptureNeeds needs() const override { return {.observed = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const at::Tensor& observed = in.capture.layers.at(layer).observed;  // [H_kv, N]
    return {observed, observed.sum(0), {}};
  }
};

}  // namespace

HeuristicInfo h2o_heuristic() {
  return {"h2o", "H2O: observed attention (normalised causal column sums)", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<H2O>(); }};
}

}  // namespace claa
