// PyramidKV (Cai et al. 2024, arXiv 2406.02069). Reference: Zefan-Cai/KVCache-Factory
// pyramidkv/pyramidkv_utils.py (PyramidKVCluster.update_kv, its kv_head cache mode: GQA mean, then
// pool) and run_longbench.py (window 8, kernel 7, max pool, beta 20). Preset "kvpress" =
// kvpress/presses/pyramidkv_press.py's defaults (window 64, avg pool 5, beta 20); kvpress's budget
// rule is the same pyramid in floats with a fallback to SnapKV's budget, which claa does not copy
// (its integer formula is KVCache-Factory's).
//
// Scores are SnapKV's (heuristics/snapkv.cpp) with KVCache-Factory's settings; what differs is the
// selection: layer l keeps a pyramid share of the budget (more at the bottom, the same total),
// selection/selection.h pyramid_layer_budget. Rank mode evaluates layer l's ranking with its
// share of the keep count; the FastKV-style pipeline spreads the pyramid over the layers whose
// decode caches it compresses (method.md §6).
#include "core/error.h"
#include "heuristics/snapkv.h"

namespace claa {

namespace {

nlohmann::json pyramid_defaults() {
  return {{"window", 8}, {"kernel", 7}, {"pooling", "maxpool"}, {"gqa_mean", "before_pool"}, {"beta", 20}};
}

nlohmann::json pyramid_kvpress() {
  nlohmann::json p = snapkv_kvpress_preset();
  p["beta"] = 20;
  return p;
}

class PyramidKV : public SnapKVScored {
 public:
  explicit PyramidKV(const nlohmann::json& p) : SnapKVScored("pyramidkv", p), beta_(p["beta"].get<double>()) {
    require(beta_ >= 1, "pyramidkv: beta must be at least 1");
  }
  BudgetAllocation allocation() const override {
    BudgetAllocation a;
    a.kind = BudgetAllocation::Kind::Pyramid;
    a.beta = beta_;
    return a;
  }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    at::Tensor r = rows(in, layer);
    return {r, r.sum(0), {}};
  }

 private:
  double beta_;
};

}  // namespace

HeuristicInfo pyramidkv_heuristic() {
  HeuristicInfo info{"pyramidkv", "PyramidKV: SnapKV scores, per-layer pyramid budgets", pyramid_defaults(),
                     [](const nlohmann::json& p) { return std::make_unique<PyramidKV>(p); }};
  info.presets["kvpress"] = pyramid_kvpress();
  return info;
}

}  // namespace claa
