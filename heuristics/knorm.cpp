// KNorm (Devoto et al. 2024): keys with a small L2 norm attract attention, so the score is −‖k‖.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class KNorm : public Heuristic {
 public:
  std::string name() const override { return "knorm"; }
  HeuristicScores score(const HeuristicInput& in) const override {
    HeuristicScores s;
    for (const LayerCapture& c : in.capture.layers) {
      s.per_head.push_back(-c.key_norms);
      s.combined.push_back(-c.key_norms.mean(0));
    }
    return s;
  }
};

}  // namespace

HeuristicInfo knorm_heuristic() {
  return {"knorm", "KNorm: negative key L2 norm, mean over KV heads", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<KNorm>(); }};
}

}  // namespace claa
