// SnapKV (Li et al. 2024, arXiv 2404.14469). Reference: FasterDecoding/SnapKV
// snapkv/monkeypatch/snapkv_utils.py (SnapKVCluster.update_kv) with the repo's LongBench settings
// experiments/LongBench/config/ablation_c*_w32_k7_maxpool.json (window 32, kernel 7, max pool);
// GQA as in NVIDIA/kvpress kvpress/presses/snapkv_press.py (mean over the query heads of a group).
//
// Per KV head g at layer l: softmax(q·K/√d) of the last w queries over all keys (causal inside the
// window), summed over the w queries, the w window columns dropped, pooled along the tokens
// (stride 1, padding k//2; max pool pads with −inf, avg pool counts zero padding), mean over the G
// query heads of g → [H_kv, N − w]. SnapKV always keeps its whole observation window; where w is
// wider than the capture's W (the window a pipeline forces), the w − W positions before the forced
// window get the largest score + 1 (kvpress's padding), so rows have N − W entries like FastKV's.
// The layer's ranking is the sum over KV heads. Its own window/kernel/pooling, distinct from
// FastKV's (W = 8, avg pool 7, sum over the group).
#include "heuristics/snapkv.h"

#include "core/error.h"
#include "core/pooling.h"

namespace claa {

at::Tensor snapkv_scores(const CaptureResult& c, int layer, int window, int kernel, const std::string& pooling) {
  const int64_t n = c.n_prompt, w = std::min<int64_t>(window, n - 1);
  at::Tensor sums = c.window_attention(layer, window);  // [H, N]
  at::Tensor trimmed = sums.narrow(1, 0, n - w);
  at::Tensor pooled = pooling == "maxpool" ? at::max_pool1d(trimmed.unsqueeze(0), {kernel}, {1}, {kernel / 2}).squeeze(0)
                                           : avg_pool_last(trimmed, kernel);
  pooled = pooled.narrow(1, 0, n - w);  // an even kernel pools one entry too many
  at::Tensor rows = pooled.view({c.n_kv_heads, -1, n - w}).mean(1);
  const int64_t length = n - c.window;  // what the forced window leaves
  if (rows.size(1) >= length) return rows.narrow(1, 0, length);
  at::Tensor kept = at::full({rows.size(0), length - rows.size(1)}, rows.max().item<double>() + 1, rows.options());
  return at::cat({rows, kept}, 1);
}

SnapKVScored::SnapKVScored(std::string name, const nlohmann::json& p)
    : name_(std::move(name)), window_(p["window"].get<int>()), kernel_(p["kernel"].get<int>()),
      pooling_(p["pooling"].get<std::string>()) {
  require(window_ >= 1, name_ + ": window must be at least 1");
  require(kernel_ >= 1, name_ + ": kernel must be at least 1");
  require(pooling_ == "maxpool" || pooling_ == "avgpool", name_ + ": pooling must be maxpool or avgpool");
}

CaptureNeeds SnapKVScored::needs() const {
  CaptureNeeds n;
  n.windows = {window_};
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
  return {"snapkv", "SnapKV: last-32-query window attention, max pool 7, per KV head", {{"window", 32}, {"kernel", 7}, {"pooling", "maxpool"}},
          [](const nlohmann::json& p) { return std::make_unique<SnapKV>(p); }};
}

}  // namespace claa
