// H2O / observed attention (Zhang et al. 2023): column sums of the full causal prompt attention,
// divided by the number of queries that see each key, summed over the heads of each KV group.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class H2O : public Heuristic {
 public:
  std::string name() const override { return "h2o"; }
  void configure_capture(CaptureOptions& o) const override { o.observed_attention = true; }
  HeuristicScores score(const HeuristicInput& in) const override {
    HeuristicScores s;
    for (const LayerCapture& c : in.capture.layers) {
      s.per_head.push_back(c.observed);
      s.combined.push_back(c.observed.sum(0));
    }
    return s;
  }
};

}  // namespace

HeuristicInfo h2o_heuristic() {
  return {"h2o", "H2O: observed attention (normalised causal column sums)", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<H2O>(); }};
}

}  // namespace claa
