// The SnapKV score and the base of the heuristics that rank with it: SnapKV itself, PyramidKV and
// Ada-KV differ only in how the budget is split (selection), not in how a token is scored.
#pragma once

#include <string>

#include "heuristics/heuristic.h"

namespace claa {

struct SnapKVParams {
  int window = 32, kernel = 7;
  std::string pooling = "maxpool";  // "maxpool" | "avgpool"
  bool mean_before_pool = false;    // GQA mean before the pooling (KVCache-Factory kv_head mode)
};

// SnapKV's score per KV head for one layer (heuristics/snapkv.cpp): the window-w attention sum with
// the w window columns dropped, pooled per head (avg|max, kernel k) and averaged over each GQA group
// (before or after the pooling) → [H_kv, N − W]. w is clamped to N − 1 as the capture clamps it.
at::Tensor snapkv_scores(const CaptureResult& c, int layer, const SnapKVParams& params);

// kvpress SnapKVPress's defaults as SnapKV parameters (PyramidKV's and Ada-KV's kvpress presets
// start from them).
nlohmann::json snapkv_kvpress_preset();

// A heuristic scored by SnapKV's rule with its own {"window", "kernel", "pooling", "gqa_mean"}
// parameters.
class SnapKVScored : public Heuristic {
 public:
  SnapKVScored(std::string name, const nlohmann::json& params);
  std::string name() const override { return name_; }
  CaptureNeeds needs() const override;

 protected:
  at::Tensor rows(const HeuristicInput& in, int layer) const {  // [H_kv, N − W]
    return snapkv_scores(in.capture, layer, params_);
  }

 private:
  std::string name_;
  SnapKVParams params_;
};

}  // namespace claa
