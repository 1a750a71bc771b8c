// Ada-KV (Feng et al. 2024, arXiv 2407.11550). Reference: FFY0/AdaKV and Zefan-Cai/KVCache-Factory
// pyramidkv/pyramidkv_utils.py (AdaKV with SnapKV scores: window 8, kernel 7, max pool, floor 0.2
// in run_longbench.py; kv_head mode: GQA mean, then pool); kvpress kvpress/presses/adakv_press.py
// (alpha_safeguard 0.2). Preset "kvpress" = AdaKVPress(SnapKVPress()) at kvpress's defaults.
//
// Scores are SnapKV's per KV head; what differs is the selection: a layer's H_kv·(C − W) free
// slots go to the best (head, token) pairs across heads, each head first keeping its top
// ⌊alpha·(C − W)⌋ (selection/selection.h keep_adaptive_per_head). The layer's ranking is
// the max over the KV-head rows: the order in which tokens enter the union of the per-head caches
// (without the safeguard, which depends on the budget), and each row's slot share in the budget
// diagnostics is the head's share of the layer budget (method.md §6). In e2e the compressed layers'
// decode caches take the split itself: each KV head keeps its own count (KVCache::keep_ragged).
#include "core/error.h"
#include "heuristics/snapkv.h"

namespace claa {

namespace {

nlohmann::json adakv_defaults() {
  return {{"window", 8}, {"kernel", 7}, {"pooling", "maxpool"}, {"gqa_mean", "before_pool"}, {"alpha_safeguard", 0.2}};
}

nlohmann::json adakv_kvpress() {
  nlohmann::json p = snapkv_kvpress_preset();
  p["alpha_safeguard"] = 0.2;
  return p;
}

class AdaKV : public SnapKVScored {
 public:
  explicit AdaKV(const nlohmann::json& p) : SnapKVScored("adakv", p), alpha_(p["alpha_safeguard"].get<double>()) {
    require(alpha_ >= 0 && alpha_ <= 1, "adakv: alpha_safeguard must be in [0, 1]");
  }
  BudgetAllocation allocation() const override {
    BudgetAllocation a;
    a.kind = BudgetAllocation::Kind::HeadAdaptive;
    a.alpha_safeguard = alpha_;
    return a;
  }
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    at::Tensor rows = SnapKVScored::rows(in, layer);  // [H_kv, N − W]
    LayerScores out;
    out.per_head = rows;
    out.combined = std::get<0>(rows.max(0));
    out.rows.values = rows;
    out.rows.raw_mean = rows.mean(1);
    out.rows.raw_std = rows.std(1, /*unbiased=*/true);
    for (int64_t g = 0; g < rows.size(0); ++g) out.rows.labels.emplace_back(layer, static_cast<int>(g));
    out.rows.normalize = "none";
    return out;
  }

 private:
  double alpha_;
};

}  // namespace

HeuristicInfo adakv_heuristic() {
  HeuristicInfo info{"adakv", "Ada-KV: SnapKV scores, head-adaptive budgets (max over KV heads)", adakv_defaults(),
                     [](const nlohmann::json& p) { return std::make_unique<AdaKV>(p); }};
  info.presets["kvpress"] = adakv_kvpress();
  return info;
}

}  // namespace claa
