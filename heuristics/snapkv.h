// The SnapKV score and the base of the heuristics that rank with it: SnapKV itself, PyramidKV and
// Ada-KV differ only in how the budget is split (selection), not in how a token is scored.
#pragma once

#include <string>

#include "heuristics/heuristic.h"

namespace claa {

// SnapKV's score per KV head for one layer (heuristics/snapkv.cpp): the window-w attention sum with
// the w window columns dropped, pooled per head (avg|max, kernel k), mean over each GQA group →
// [H_kv, N − W]. w is clamped to N − 1 as the capture clamps it.
at::Tensor snapkv_scores(const CaptureResult& c, int layer, int window, int kernel, const std::string& pooling);

// A heuristic scored by SnapKV's rule with its own {"window", "kernel", "pooling"} parameters.
class SnapKVScored : public Heuristic {
 public:
  SnapKVScored(std::string name, const nlohmann::json& params);
  std::string name() const override { return name_; }
  CaptureNeeds needs() const override;

 protected:
  at::Tensor rows(const HeuristicInput& in, int layer) const {  // [H_kv, N − W]
    return snapkv_scores(in.capture, layer, window_, kernel_, pooling_);
  }

 private:
  std::string name_;
  int window_, kernel_;
  std::string pooling_;
};

}  // namespace claa
