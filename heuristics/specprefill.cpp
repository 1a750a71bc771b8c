// Speculative Prefill (Liu et al. 2025, arXiv 2502.02789; method.md §2): a draft model prefills the
// prompt and greedily decodes k = 8 look-ahead tokens; each step's attention over the prompt keys
// is pooled (kernel 7) per row before the max over (layer, head), then averaged over steps. One
// ranking, not per layer.
//
// draft "self": the model is its own draft, so the look-ahead tokens are the first k tokens of its
// own greedy answer and the score comes from the same capture pass; reports say "self-draft".
// Any other draft (a .gguf, an HF folder or an alias) is loaded once, on the main model's device
// and dtype, and captures the same prompt ids itself; it must share the tokenizer (same vocab).
#include <mutex>

#include "harness/model/model_loader.h"
#include "harness/util/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class SpecPrefill : public Heuristic {
 public:
  explicit SpecPrefill(const nlohmann::json& p)
      : draft_(p["draft"].get<std::string>()), lookahead_(p["lookahead"].get<int>()), pool_(p["pool"].get<int>()) {
    require(lookahead_ >= 1, "specprefill: lookahead must be at least 1");
    if (!self()) resolve_model(draft_);  // a missing draft fails at config validation
  }
  std::string name() const override { return "specprefill"; }
  // The draft's look-ahead needs the whole prompt and decoding: not computable during a prefill.
  CaptureNeeds needs() const override { return {}; }
  bool online() const override { return false; }
  bool layer_independent() const override { return true; }
  void configure_capture(CaptureOptions& o) const override {
    if (!self()) return;
    o.spec_lookahead = lookahead_;
    o.spec_pool = pool_;
  }
  HeuristicScores score(const HeuristicInput& in) const override {
    const int n_layers = static_cast<int>(in.capture.layers.size());
    if (self()) {
      require(in.capture.spec_scores.defined(), "specprefill: the capture did not record look-ahead attention");
      return repeat_for_layers(in.capture.spec_scores, n_layers, "self-draft");
    }
    require(in.prompt_ids != nullptr && in.model != nullptr, "specprefill: a draft model needs the prompt ids");
    const Transformer& draft = draft_model(*in.model);
    CaptureOptions o;
    o.window = std::min<int>(in.capture.window, static_cast<int>(in.prompt_ids->size()) - 1);
    o.max_new_tokens = lookahead_;  // k look-ahead tokens, EOS ignored as in the reference method
    o.spec_lookahead = lookahead_;
    o.spec_pool = pool_;
    return repeat_for_layers(capture_prompt(draft, *in.prompt_ids, o).spec_scores, n_layers, "draft " + draft_);
  }

 private:
  bool self() const { return draft_ == "self"; }
  const Transformer& draft_model(const Transformer& target) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!loaded_) {
      loaded_ = std::make_shared<LoadedModel>(load_model(draft_, target.options()));
      require(loaded_->config.vocab == target.config().vocab,
              "specprefill: draft " + draft_ + " has a different vocabulary from the model (it must share the tokenizer)");
    }
    return *loaded_->model;
  }
  std::string draft_;
  int lookahead_, pool_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<LoadedModel> loaded_;
};

}  // namespace

HeuristicInfo specprefill_heuristic() {
  return {"specprefill", "Speculative Prefill: look-ahead attention of a draft model (\"self\" or a model path)",
          {{"draft", "self"}, {"lookahead", 8}, {"pool", 7}},
          [](const nlohmann::json& p) { return std::make_unique<SpecPrefill>(p); }};
}

}  // namespace claa
