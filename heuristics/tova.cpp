// TOVA (Oren et al. 2024): the last query's attention, averaged over heads.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class Tova : public Heuristic {
 public:
  std::string name() const override { return "tova"; }
  CaptureNeeds needs() const override { return {.last_query = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const at::Tensor& attn = in.capture.layers.at(layer).last_attn;  // [H, N]
    return {attn.view({in.capture.n_kv_heads, -1, attn.size(1)}).mean(1), attn.mean(0), {}};
  }
};

}  // namespace

HeuristicInfo tova_heuristic() {
  HeuristicInfo info{"tova", "TOVA: last query's attention, mean over heads", nlohmann::json::object(),
                     [](const nlohmann::json&) { return std::make_unique<Tova>(); }};
  info.presets["kvpress"] = nlohmann::json::object();  // its defaults are the kvpress press's
  return info;
}

}  // namespace claa
