// TOVA (Oren et al. 2024): the last query's attention, averaged over heads.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class Tova : public Heuristic {
 public:
  std::string name() const override { return "tova"; }
  HeuristicScores score(const HeuristicInput& in) const override {
    HeuristicScores s;
    const int64_t Hkv = in.capture.n_kv_heads;
    for (const LayerCapture& c : in.capture.layers) {
      s.per_head.push_back(c.last_attn.view({Hkv, -1, c.last_attn.size(1)}).mean(1));
      s.combined.push_back(c.last_attn.mean(0));
    }
    return s;
  }
};

}  // namespace

HeuristicInfo tova_heuristic() {
  return {"tova", "TOVA: last query's attention, mean over heads", nlohmann::json::object(),
          [](const nlohmann::json&) { return std::make_unique<Tova>(); }};
}

}  // namespace claa
