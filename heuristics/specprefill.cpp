// Speculative Prefill (Liu et al. 2025, arXiv 2502.02789; method.md §2): a draft model prefills the
// prompt and greedily decodes k = 8 look-ahead tokens; each step's attention over the prompt keys
// is pooled (kernel 7) per row before the max over (layer, head), then averaged over steps. One
// ranking, not per layer. The score is this file's capture statistic, read from the answer's
// attention rows that the capture hands out (steps 0..k−1: the last prompt query, then the first
// k − 1 fed-back look-ahead tokens).
//
// draft "self": the model is its own draft, so the look-ahead tokens are the first k tokens of its
// own greedy answer and the score comes from the same capture pass; reports say "self-draft".
// Any other draft (a .gguf, an HF folder or an alias) is loaded once, on the main model's device
// and dtype, and captures the same prompt ids itself; it must share the tokenizer (same vocab).
#include <mutex>

#include "core/error.h"
#include "core/pooling.h"
#include "heuristics/heuristic.h"
#include "model/model_loader.h"

namespace claa {

namespace {

// The look-ahead score: per step, every row pooled, the max over heads and then over layers; at the
// end the mean over the steps. Max over layers starts from 0, which is exact for probabilities.
class LookaheadScore : public CaptureStatistic {
 public:
  LookaheadScore(const StatisticContext& c, std::string key, int64_t steps, int pool)
      : out_(c.out),
        device_(c.device),
        n_(c.n_prompt),
        layers_(static_cast<int>(c.config.n_layers)),
        key_(std::move(key)),
        steps_(steps),
        pool_(pool) {}
  int64_t answer_steps() const override { return steps_; }
  void on_answer_attention(int layer, int64_t first_step, const at::Tensor& probs) override {
    const int64_t count = probs.size(0);
    grow(first_step + count);
    // [S, H, N] → [H, S, N], each row pooled, max over heads → [S, N].
    at::Tensor rows = std::get<0>(avg_pool_last(probs.transpose(0, 1).to(at::kFloat), pool_).max(0)).to(device_);
    at::Tensor agg = step_max_.narrow(0, first_step, count);
    at::maximum_out(agg, agg, rows);
    for (int64_t t = first_step; t < first_step + count; ++t) ++layers_seen_[static_cast<size_t>(t)];
  }
  void finish() override {
    require(!layers_seen_.empty(), "specprefill: no look-ahead step was recorded");
    for (int seen : layers_seen_) require(seen == layers_, "specprefill: a look-ahead step is missing layers");
    const double steps = static_cast<double>(layers_seen_.size());
    out_.statistics[key_] = step_max_.sum(0) / steps;
  }

 private:
  void grow(int64_t steps) {
    const int64_t have = static_cast<int64_t>(layers_seen_.size());
    if (steps <= have) return;
    at::Tensor more = at::zeros({steps - have, n_}, at::TensorOptions().dtype(at::kFloat).device(device_));
    step_max_ = step_max_.defined() ? at::cat({step_max_, more}, 0) : more;
    layers_seen_.resize(static_cast<size_t>(steps), 0);
  }
  CaptureResult& out_;
  at::Device device_;
  int64_t n_;
  int layers_;
  std::string key_;
  int64_t steps_;
  int pool_;
  at::Tensor step_max_;           // [steps, N]
  std::vector<int> layers_seen_;  // per step
};

class SpecPrefill : public Heuristic {
 public:
  explicit SpecPrefill(const nlohmann::json& p)
      : draft_(p["draft"].get<std::string>()), lookahead_(p["lookahead"].get<int>()), pool_(p["pool"].get<int>()) {
    require(lookahead_ >= 1, "specprefill: lookahead must be at least 1");
    require(pool_ >= 0, "specprefill: pool must be non-negative");
    if (!self()) resolve_model(draft_);  // a missing draft fails at config validation
  }
  std::string name() const override { return "specprefill"; }
  // The draft's look-ahead needs the whole prompt and decoding: not computable during a prefill. A
  // self-draft reads the look-ahead statistic of the capture; another draft captures the prompt itself.
  CaptureNeeds needs() const override {
    CaptureNeeds n;
    if (self()) n.statistics.push_back(lookahead_request());
    return n;
  }
  bool online() const override { return false; }
  bool layer_independent() const override { return true; }
  HeuristicScores score(const HeuristicInput& in) const override {
    const int n_layers = static_cast<int>(in.capture.layers.size());
    if (self()) return repeat_for_layers(in.capture.statistic(key()), n_layers, "self-draft");
    require(in.prompt_ids != nullptr && in.model != nullptr, "specprefill: a draft model needs the prompt ids");
    const Transformer& draft = draft_model(*in.model);
    CaptureOptions o;
    o.window = std::min<int>(in.capture.window, static_cast<int>(in.prompt_ids->size()) - 1);
    o.max_new_tokens = lookahead_;  // k look-ahead tokens, EOS ignored as in the reference method
    o.extra.statistics.push_back(lookahead_request());
    return repeat_for_layers(capture_prompt(draft, *in.prompt_ids, o).statistic(key()), n_layers, "draft " + draft_);
  }

 private:
  bool self() const { return draft_ == "self"; }
  std::string key() const {
    return "specprefill(lookahead=" + std::to_string(lookahead_) + ",pool=" + std::to_string(pool_) + ")";
  }
  StatisticRequest lookahead_request() const {
    const std::string k = key();
    const int64_t steps = lookahead_;
    const int pool = pool_;
    return {k, steps, [k, steps, pool](const StatisticContext& c) {
              return std::make_unique<LookaheadScore>(c, k, steps, pool);
            }};
  }
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
