// PyramidKV (Cai et al. 2024, arXiv 2406.02069). Reference: Zefan-Cai/KVCache-Factory
// pyramidkv/pyramidkv_utils.py (PyramidKVCluster.update_kv) and run_longbench.py (window 8,
// kernel 7, max pool, beta 20); kvpress kvpress/presses/pyramidkv_press.py is the same rule.
//
// Scores are SnapKV's (heuristics/snapkv.cpp) with KVCache-Factory's settings; what differs is the
// selection: layer l keeps a pyramid share of the budget (more at the bottom, the same total),
// selection/selection.h pyramid_layer_budget. Rank mode evaluates layer l's ranking with its
// share of the keep count; the FastKV-style pipeline compresses layer l's decode cache to its share
// (method.md §6).
#include "core/error.h"
#include "heuristics/snapkv.h"

namespace claa {

namespace {

nlohmann::json pyramid_defaults() {
  return {{"window", 8}, {"kernel", 7}, {"pooling", "maxpool"}, {"beta", 20}};
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
  return {"pyramidkv", "PyramidKV: SnapKV scores, per-layer pyramid budgets", pyramid_defaults(),
          [](const nlohmann::json& p) { return std::make_unique<PyramidKV>(p); }};
}

}  // namespace claa
