// StreamingLLM (Xiao et al. 2024): keep `sinks` initial tokens and the most recent ones. As a
// ranking: sinks first, then tokens by recency.
#include "core/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class StreamingLLM : public Heuristic {
 public:
  explicit StreamingLLM(const nlohmann::json& p) : sinks_(p["sinks"].get<int>()) {
    require(sinks_ >= 0, "streamingllm: sinks must be non-negative");
  }
  std::string name() const override { return "streamingllm"; }
  CaptureNeeds needs() const override { return {}; }
  bool layer_independent() const override { return true; }
  LayerScores score_layer(const HeuristicInput& in, int) const override {
    const int64_t n = in.capture.n_prompt;
    at::Tensor score = at::arange(n, at::kFloat);
    score.narrow(0, 0, std::min<int64_t>(sinks_, n)).fill_(static_cast<float>(n));
    return {score.unsqueeze(0), score, {}};
  }

 private:
  int sinks_;
};

}  // namespace

HeuristicInfo streamingllm_heuristic() {
  HeuristicInfo info{"streamingllm",
                     "StreamingLLM: attention sinks + most recent tokens",
                     {{"sinks", 4}},
                     [](const nlohmann::json& p) { return std::make_unique<StreamingLLM>(p); }};
  info.presets["kvpress"] = nlohmann::json::object();  // its defaults are the kvpress press's
  return info;
}

}  // namespace claa
