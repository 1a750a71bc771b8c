// Speculative Prefill (Liu et al. 2025, arXiv 2502.02789; method.md §2): a draft model prefills the
// prompt and greedily decodes k = 8 look-ahead tokens; each step's attention over the prompt keys
// is pooled (kernel 7) per row before the max over (layer, head), then averaged over steps. One
// ranking, not per layer.
//
// Only the self-draft is implemented: the model is its own draft, so the look-ahead tokens are the
// first k tokens of its own greedy answer and the score comes from the same capture pass. Reports
// say "self-draft". (A separate same-tokenizer draft model is future work.)
#include "harness/util/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class SpecPrefill : public Heuristic {
 public:
  explicit SpecPrefill(const nlohmann::json& p)
      : lookahead_(p["lookahead"].get<int>()), pool_(p["pool"].get<int>()) {
    require(p["draft"].get<std::string>() == "self",
            "specprefill: only draft \"self\" is supported (the model is its own draft)");
    require(lookahead_ >= 1, "specprefill: lookahead must be at least 1");
  }
  std::string name() const override { return "specprefill"; }
  void configure_capture(CaptureOptions& o) const override {
    o.spec_lookahead = lookahead_;
    o.spec_pool = pool_;
  }
  HeuristicScores score(const HeuristicInput& in) const override {
    require(in.capture.spec_scores.defined(), "specprefill: the capture did not record look-ahead attention");
    return repeat_for_layers(in.capture.spec_scores, static_cast<int>(in.capture.layers.size()), "self-draft");
  }

 private:
  int lookahead_, pool_;
};

}  // namespace

HeuristicInfo specprefill_heuristic() {
  return {"specprefill", "Speculative Prefill: look-ahead attention of a draft (self-draft)",
          {{"draft", "self"}, {"lookahead", 8}, {"pool", 7}},
          [](const nlohmann::json& p) { return std::make_unique<SpecPrefill>(p); }};
}

}  // namespace claa
