#include "harness/capture/capture.h"

#include <cmath>
#include <limits>
#include <optional>

#include "harness/model/generate.h"
#include "harness/util/error.h"

namespace claa {

namespace {

// The LayerTap that sees the prefill (T = N queries) and each decode step (T = 1): the prefill
// quantities come from PrefillCaptureTap (the same code the pipelines run), the answer steps feed
// the oracle (and Speculative Prefill's self-draft score).
class CaptureTap : public LayerTap {
 public:
  CaptureTap(const ModelConfig& config, int64_t n_prompt, const CaptureOptions& options, CaptureResult& out)
      : config_(config), n_(n_prompt), options_(options),
        prefill_(config, n_prompt, options.window, needs_of(options), at::kCPU, out), out_(out),
        oracle_(static_cast<int>(config.n_layers), n_prompt, options.oracle) {
    if (options.spec_lookahead > 0) {
      OracleOptions spec;  // method.md §2: pool rows (7), max over layers and heads, mean over steps
      spec.pool_kernel = 0;
      spec.pool_rows_before_max = options.spec_pool;
      spec_.emplace(static_cast<int>(config.n_layers), n_prompt, spec);
    }
  }

  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor& positions) override {
    decoding_ = q.size(1) == 1 && keys.size(1) > n_;
    if (decoding_) return;
    require(q.size(1) == n_ && keys.size(1) == n_, "capture: the prompt must be prefilled in one pass");
    prefill_.on_attention_inputs(layer, q, keys, positions);
    add_answer_step(layer, prefill_.last_attention());
  }

  // Decoding needs each answer token's probabilities (oracle); the prefill only H2O's column sums.
  bool wants_probabilities(int) const override { return decoding_; }
  bool wants_column_sums(int layer) const override { return !decoding_ && prefill_.wants_column_sums(layer); }

  void on_attention_probs(int layer, int64_t, const at::Tensor& probs) override {
    // probs [H_kv, G, 1, S] over prompt + answer keys: renormalise over the N prompt keys.
    at::Tensor p = probs.reshape({config_.n_heads, -1}).narrow(1, 0, n_);
    add_answer_step(layer, p / p.sum(-1, true));
  }

  void on_attention_column_sums(int layer, const at::Tensor& sums) override {
    prefill_.on_attention_column_sums(layer, sums);
  }

  void finish() {
    for (int l = 0; l < static_cast<int>(config_.n_layers); ++l) prefill_.complete_layer(l);
    out_.oracle = oracle_.oracle();
    out_.oracle_per_layer = oracle_.per_layer();
    out_.oracle_steps = oracle_.steps();
    if (spec_) {
      out_.spec_scores = spec_->oracle();
      out_.spec_steps = spec_->steps();
    }
  }

 private:
  static CaptureNeeds needs_of(const CaptureOptions& o) {
    CaptureNeeds needs = CaptureNeeds::all_but_observed();
    needs.observed = o.observed_attention;
    return needs;
  }

  void add_answer_step(int layer, const at::Tensor& probs) {
    oracle_.add(layer, probs);
    bool spec_step = spec_ && spec_->steps() < options_.spec_lookahead;
    if (spec_step) spec_->add(layer, probs);
    if (layer == config_.n_layers - 1) {
      oracle_.end_step();
      if (spec_step) spec_->end_step();
    }
  }

  const ModelConfig& config_;
  int64_t n_;
  const CaptureOptions& options_;
  PrefillCaptureTap prefill_;
  CaptureResult& out_;
  OracleAccumulator oracle_;
  std::optional<OracleAccumulator> spec_;
  bool decoding_ = false;
};

}  // namespace

at::Tensor window_attention_sum(const at::Tensor& q, const at::Tensor& keys, int window) {
  const int64_t H = q.size(0), n = q.size(1), d = q.size(2), Hkv = keys.size(0), G = H / Hkv, W = window;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor qw = q.narrow(1, n - W, W).to(at::kFloat).reshape({Hkv, G * W, d});
  at::Tensor scores = at::matmul(qw, keys.to(at::kFloat).transpose(1, 2)).mul_(scale).view({H, W, keys.size(1)});
  at::Tensor future = at::ones({W, W}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(1);
  scores.narrow(2, keys.size(1) - W, W).masked_fill_(future, -std::numeric_limits<float>::infinity());
  return at::softmax(scores, -1).sum(1);
}

PrefillCaptureTap::PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs,
                                     at::Device device, CaptureResult& out)
    : config_(config), n_(n_prompt), window_(window), needs_(needs), device_(device), out_(out) {
  if (out_.layers.size() < static_cast<size_t>(config.n_layers)) out_.layers.resize(config.n_layers);
}

void PrefillCaptureTap::on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor&) {
  prefill_layer_ = q.size(1) == n_ && keys.size(1) == n_;
  if (!prefill_layer_) return;
  const int64_t H = config_.n_heads, Hkv = config_.n_kv_heads, G = H / Hkv, d = q.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor k = keys.to(at::kFloat);
  LayerCapture& c = out_.layers[layer];

  if (needs_.window_attn) c.window_attn = window_attention_sum(q, keys, window_).to(device_);
  if (needs_.last_query) {
    // The last prompt query: raw dot products (GemFilter) and its softmax (TOVA, oracle step 0).
    at::Tensor ql = q.narrow(1, n_ - 1, 1).to(at::kFloat).reshape({Hkv, G, d});
    at::Tensor dots = at::matmul(ql, k.transpose(1, 2)).reshape({H, n_});
    last_attn_ = at::softmax(dots * scale, -1);
    c.last_dots = dots.to(device_);
    c.last_attn = last_attn_.to(device_);
  }
  if (needs_.key_norms) c.key_norms = k.norm(2, -1).to(device_);
}

bool PrefillCaptureTap::wants_column_sums(int) const { return needs_.observed && prefill_layer_; }

void PrefillCaptureTap::on_attention_column_sums(int layer, const at::Tensor& sums) {
  if (!prefill_layer_) return;
  // sums [H_kv, N]: Σ over the prompt queries and the G heads of each group (H2O).
  out_.layers[layer].observed = sums.to(device_, at::kFloat).clone();
}

void PrefillCaptureTap::complete_layer(int layer) {
  at::Tensor& obs = out_.layers[layer].observed;
  if (!obs.defined()) return;
  // Key j is seen by the N − j prompt queries at and after it.
  obs = obs / at::arange(n_, 0, -1, at::TensorOptions().dtype(at::kFloat).device(device_));
}

CaptureResult capture_prompt(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                             const CaptureOptions& options) {
  const int64_t n = static_cast<int64_t>(prompt_ids.size());
  require(options.window >= 1, "capture: window must be at least 1");
  require(n > options.window, "prompt of " + std::to_string(n) + " tokens is not longer than the observation window W = " +
                                  std::to_string(options.window));
  CaptureResult out;
  out.n_prompt = n;
  out.window = options.window;
  out.n_kv_heads = static_cast<int>(model.config().n_kv_heads);
  CaptureTap tap(model.config(), n, options, out);

  GenerationOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.eos_ids = options.eos_ids;
  GenerationResult r = generate(model, prompt_ids, gen, &tap);
  tap.finish();
  out.answer_tokens = r.tokens;
  out.stopped_by_eos = r.stopped_by_eos;
  out.empty_answer = r.stopped_by_eos && r.tokens.size() == 1;
  out.prefill_seconds = r.prefill_seconds;
  out.decode_seconds = r.decode_seconds;
  return out;
}

}  // namespace claa
