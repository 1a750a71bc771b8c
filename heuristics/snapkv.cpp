// SnapKV (Li et al. 2024, arXiv 2404.14469). Reference: FasterDecoding/SnapKV
// snapkv/monkeypatch/snapkv_utils.py (SnapKVCluster.update_kv) with the repo's LongBench settings
// experiments/LongBench/config/ablation_c*_w32_k7_maxpool.json (window 32, kernel 7, max pool);
// GQA as in NVIDIA/kvpress kvpress/presses/snapkv_press.py (pool each query head, then the mean over
// the query heads of a group). Preset "kvpress" = SnapKVPress's defaults (window 64, avg pool 5).
//
// Per KV head g at layer l: softmax(q·K/√d) of the last w queries over all keys (causal inside the
// window), summed over the w queries (kvpress takes the mean: 1/w times these values), the w window
// columns dropped, pooled along the tokens (stride 1, padding k//2; max pool pads with −inf, avg pool
// counts zero padding) and averaged over the G query heads of g → [H_kv, N − w]. The GQA mean comes
// after the pooling (kvpress) or before it (gqa_mean = "before_pool": KVCache-Factory's kv_head
// cache mode, _grouped_window_attn_cache); the two differ only under max pooling. SnapKV always keeps
// its whole observation window; where w is wider than the capture's W (the window a pipeline
// forces), the w − W positions before the forced window get the largest score + 1 (kvpress's
// padding), so rows have N − W entries like FastKV's. The layer's ranking is the sum over KV heads.
#include "heuristics/snapkv.h"

#include "core/error.h"
#include "core/pooling.h"

namespace claa {

nlohmann::json snapkv_kvpress_preset() {
  // kvpress/presses/snapkv_press.py: window_size 64, kernel_size 5, F.avg_pool1d, pool then group mean.
  return {{"window", 64}, {"kernel", 5}, {"pooling", "avgpool"}, {"gqa_mean", "after_pool"}};
}

namespace {

at::Tensor pool_tokens(const at::Tensor& rows, int kernel, const std::string& pooling) {
  const int64_t m = rows.size(1);
  at::Tensor pooled = pooling == "maxpool" ? at::max_pool1d(rows.unsqueeze(0), {kernel}, {1}, {kernel / 2}).squeeze(0)
                                           : avg_pool_last(rows, kernel);
  return pooled.narrow(1, 0, m);  // an even kernel pools one entry too many
}

}  // namespace

at::Tensor snapkv_scores(const CaptureResult& c, int layer, const SnapKVParams& p) {
  const int64_t n = c.n_prompt, w = std::min<int64_t>(p.window, n - 1);
  at::Tensor sums = c.window_attention(layer, p.window);  // [H, N]
  at::Tensor trimmed = sums.narrow(1, 0, n - w);
  auto group_mean = [&](const at::Tensor& t) { return t.view({c.n_kv_heads, -1, n - w}).mean(1); };
  at::Tensor rows = p.mean_before_pool ? pool_tokens(group_mean(trimmed), p.kernel, p.pooling)
                                       : group_mean(pool_tokens(trimmed, p.kernel, p.pooling));
  const int64_t length = n - c.window;  // what the forced window leaves
  if (rows.size(1) >= length) return rows.narrow(1, 0, length);
  at::Tensor kept = at::full({rows.size(0), length - rows.size(1)}, rows.max().item<double>() + 1, rows.options());
  return at::cat({rows, kept}, 1);
}

SnapKVScored::SnapKVScored(std::string name, const nlohmann::json& p) : name_(std::move(name)) {
  params_.window = p["window"].get<int>();
  params_.kernel = p["kernel"].get<int>();
  params_.pooling = p["pooling"].get<std::string>();
  const std::string gqa = p["gqa_mean"].get<std::string>();
  require(params_.window >= 1, name_ + ": window must be at least 1");
  require(params_.kernel >= 1, name_ + ": kernel must be at least 1");
  require(params_.pooling == "maxpool" || params_.pooling == "avgpool", name_ + ": pooling must be maxpool or avgpool");
  require(gqa == "after_pool" || gqa == "before_pool", name_ + ": gqa_mean must be after_pool or before_pool");
  params_.mean_before_pool = gqa == "before_pool";
}

CaptureNeeds SnapKVScored::needs() const {
  CaptureNeeds n;
  n.windows = {params_.window};
  return n;
}

namespace {

// SnapKV itself: the layer's ranking is the sum over its KV heads; every layer keeps the same budget.
class SnapKV : public SnapKVScored {
 public:
  explicit SnapKV(const nlohmann::json& p) : SnapKVScored("snapkv", p) {}
  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    at::Tensor r = rows(in, layer);
    return {r, r.sum(0), {}};
  }
};

}  // namespace

HeuristicInfo snapkv_heuristic() {
  HeuristicInfo info{"snapkv",
                     "SnapKV: last-32-query window attention, max pool 7, per KV head",
                     {{"window", 32}, {"kernel", 7}, {"pooling", "maxpool"}, {"gqa_mean", "after_pool"}},
                     [](const nlohmann::json& p) { return std::make_unique<SnapKV>(p); }};
  info.presets["kvpress"] = snapkv_kvpress_preset();
  return info;
}

}  // namespace claa
