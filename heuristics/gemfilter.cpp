// GemFilter (Shi et al. 2024, arXiv 2409.17422; kv-exps baseline/gemfilter/): raw dot products
// of the last query with all keys — no scaling, no softmax — summed over all H heads, pool 5.
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"

namespace claa {

namespace {

class GemFilter : public Heuristic {
 public:
  explicit GemFilter(const nlohmann::json& p) : pool_(p["pool"].get<int>()) {}
  std::string name() const override { return "gemfilter"; }
  HeuristicScores score(const HeuristicInput& in) const override {
    HeuristicScores s;
    const int64_t Hkv = in.capture.n_kv_heads;
    for (const LayerCapture& c : in.capture.layers) {
      const int64_t H = c.last_dots.size(0);
      at::Tensor per_group = c.last_dots.view({Hkv, H / Hkv, -1}).sum(1);  // [H_kv, N]
      s.per_head.push_back(avg_pool_last(per_group, pool_));
      s.combined.push_back(avg_pool_last(c.last_dots.sum(0), pool_));
    }
    return s;
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
