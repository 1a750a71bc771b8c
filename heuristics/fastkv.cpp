// FastKV / SnapKV window score (method.md §2; kv-exps baseline/fastkv/fastkv_utils.py):
// softmax of the last W queries over all keys, summed over the window, window columns dropped,
// pooled (kernel 7) per head, summed over the G heads of each KV group → S[l, g, :]; the layer's
// ranking is Σ_g S[l, g, :].
#include "core/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class FastKV : public Heuristic {
 public:
  explicit FastKV(const nlohmann::json& p) : pool_(p["pool"].get<int>()) {
    require(pool_ >= 0, "fastkv: pool must be non-negative");
  }
  std::string name() const override { return "fastkv"; }
  CaptureNeeds needs() const override { return {.window_attn = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    at::Tensor per_head = window_scores_per_kv_head(in.capture, layer, pool_);
    return {per_head, per_head.sum(0), {}};
  }

 private:
  int pool_;
};

}  // namespace

HeuristicInfo fastkv_heuristic() {
  return {"fastkv", "FastKV/SnapKV window attention of the last W queries, per KV head",
          {{"pool", 7}}, [](const nlohmann::json& p) { return std::make_unique<FastKV>(p); }};
}

}  // namespace claa
