// Uniform recency: later tokens rank higher.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class Recency : public Heuristic {
 public:
  std::string name() const override { return "recency"; }
  CaptureNeeds needs() const override { return {}; }
  bool layer_independent() const override { return true; }
  LayerScores score_layer(const HeuristicInput& in, int) const override {
    at::Tensor score = at::arange(in.capture.n_prompt, at::kFloat);
    return {score.unsqueeze(0), score, {}};
  }
};

}  // namespace

HeuristicInfo recency_heuristic() {
  return {"recency", "Recency: later tokens first", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<Recency>(); }};
}

}  // namespace claa
