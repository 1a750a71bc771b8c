// KNorm (Devoto et al. 2024): keys with a small L2 norm attract attention, so the score is −‖k‖.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class KNorm : public Heuristic {
 public:
  std::string name() const override { return "knorm"; }
  CaptureNeeds needs() const override { return {.key_norms = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const at::Tensor& norms = in.capture.layers.at(layer).key_norms;  // [H_kv, N]
    return {-norms, -norms.mean(0), {}};
  }
};

}  // namespace

HeuristicInfo knorm_heuristic() {
  HeuristicInfo info{"knorm", "KNorm: negative key L2 norm, mean over KV heads", nlohmann::json::object(),
                     [](const nlohmann::json&) { return std::make_unique<KNorm>(); }};
  info.presets["kvpress"] = nlohmann::json::object();  // its defaults are the kvpress press's
  return info;
}

}  // namespace claa
