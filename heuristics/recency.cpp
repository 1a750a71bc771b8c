// Uniform recency: later tokens rank higher.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class Recency : public Heuristic {
 public:
  std::string name() const override { return "recency"; }
  HeuristicScores score(const HeuristicInput& in) const override {
    return repeat_for_layers(at::arange(in.capture.n_prompt, at::kFloat), static_cast<int>(in.capture.layers.size()));
  }
};

}  // namespace

HeuristicInfo recency_heuristic() {
  return {"recency", "Recency: later tokens first", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<Recency>(); }};
}

}  // namespace claa
