// GemFilter (Shi et al. 2024, arXiv 2409.17422; kv-exps baseline/gemfilter/): raw dot products
// of the last query with all keys — no scaling, no softmax — summed over all H heads, pool 5.
#include "core/error.h"
#include "core/pooling.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class GemFilter : public Heuristic {
 public:
  explicit GemFilter(const nlohmann::json& p) : pool_(p["pool"].get<int>()) {
    require(pool_ >= 0, "gemfilter: pool must be non-negative");
  }
  std::string name() const override { return "gemfilter"; }
  CaptureNeeds needs() const override { return {.last_query = true}; }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    const at::Tensor& dots = in.capture.layers.at(layer).last_dots;  // [H, N]
    const int64_t Hkv = in.capture.n_kv_heads, H = dots.size(0);
    at::Tensor per_group = dots.view({Hkv, H / Hkv, -1}).sum(1);  // [H_kv, N]
    return {avg_pool_last(per_group, pool_), avg_pool_last(dots.sum(0), pool_), {}};
  }

 private:
  int pool_;
};

}  // namespace

HeuristicInfo gemfilter_heuristic() {
  return {"gemfilter", "GemFilter: last query's raw dot products summed over heads",
          {{"pool", 5}}, [](const nlohmann::json& p) { return std::make_unique<GemFilter>(p); }};
}

}  // namespace claa
