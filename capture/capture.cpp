#include "capture/capture.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "model/generate.h"

namespace claa {

namespace {

// Feeds the answer's attention rows to every sink, each up to the steps it reads.
void feed_sinks(const std::vector<AnswerAttentionSink*>& sinks, int layer, int64_t first_step,
                const at::Tensor& probs) {
  for (AnswerAttentionSink* sink : sinks) {
    const int64_t limit = sink->answer_steps();
    const int64_t rows = limit < 0 ? probs.size(0) : std::clamp<int64_t>(limit - first_step, 0, probs.size(0));
    if (rows == probs.size(0))
      sink->on_answer_attention(layer, first_step, probs);
    else if (rows > 0)
      sink->on_answer_attention(layer, first_step, probs.narrow(0, 0, rows));
  }
}

// The LayerTap of the generation: the prefill quantities come from PrefillCaptureTap (the same code
// the pipelines run), and the last prompt query's attention is the answer's step 0. Decode steps are
// not observed: they run the model's fast attention, and the answer's attention is taken afterwards
// in one batched pass (AnswerTap).
class CaptureTap : public LayerTap {
 public:
  CaptureTap(const ModelConfig& config, int64_t n_prompt, const CaptureOptions& options, at::Device device,
             CaptureResult& out, const at::Tensor& rope_inv_freq)
      : config_(config),
        n_(n_prompt),
        prefill_(config, n_prompt, options.window, needs_of(options), device, out, rope_inv_freq) {}

  // Every sink of the answer's attention: the caller's and the statistics that read answer steps.
  void set_sinks(const std::vector<AnswerAttentionSink*>& sinks) {
    sinks_ = sinks;
    for (const auto& s : prefill_.statistics())
      if (s->answer_steps() != 0) sinks_.push_back(s.get());
  }
  const std::vector<AnswerAttentionSink*>& sinks() const { return sinks_; }
  void finish_statistics() { prefill_.finish_statistics(); }

  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                           const at::Tensor& positions) override {
    prefilling_ = q.size(1) == n_ && keys.size(1) == n_;
    if (!prefilling_) return;
    {
      // Named scopes: `claa bench capture --profile` shows what the taps add to a prefill.
      RECORD_FUNCTION("claa::capture", std::vector<c10::IValue>());
      prefill_.on_attention_inputs(layer, q, keys, positions);
    }
    RECORD_FUNCTION("claa::oracle", std::vector<c10::IValue>());
    feed_sinks(sinks_, layer, 0, prefill_.last_attention().unsqueeze(0));  // [1, H, N]
  }
  void on_attention_values(int layer, const at::Tensor& values) override {
    if (!prefilling_) return;
    RECORD_FUNCTION("claa::capture", std::vector<c10::IValue>());
    prefill_.on_attention_values(layer, values);
  }
  bool wants_column_sums(int layer) const override { return prefilling_ && prefill_.wants_column_sums(layer); }
  void on_attention_column_sums(int layer, const at::Tensor& sums) override {
    prefill_.on_attention_column_sums(layer, sums);
  }
  void on_layer_output(int layer, const at::Tensor& hidden) override {
    if (!prefilling_) return;
    RECORD_FUNCTION("claa::capture", std::vector<c10::IValue>());
    prefill_.on_layer_output(layer, hidden);
  }
  void complete_layers() {
    for (int l = 0; l < static_cast<int>(config_.n_layers); ++l) prefill_.complete_layer(l);
  }

 private:
  static CaptureNeeds needs_of(const CaptureOptions& o) {
    CaptureNeeds needs = CaptureNeeds::all_but_observed();
    needs |= o.extra;
    needs.last_query = true;  // the answer's step 0
    return needs;
  }

  const ModelConfig& config_;
  int64_t n_;
  PrefillCaptureTap prefill_;
  std::vector<AnswerAttentionSink*> sinks_;
  bool prefilling_ = false;
};

// The fed-back answer tokens run again, all at once, over the prompt's KV cache: the same queries
// as the greedy decode steps (teacher forcing on the answer the model produced), so their softmax
// rows are the answer's steps 1..T−1 (method.md §1 step 2), up to float reassociation. One
// explicit attention per layer over T−1 query rows replaces T−1 single-row ones.
class AnswerTap : public LayerTap {
 public:
  AnswerTap(const ModelConfig& config, int64_t n_prompt, const std::vector<AnswerAttentionSink*>& sinks)
      : n_heads_(config.n_heads), n_(n_prompt), sinks_(sinks) {}
  // The answer step of this call's first row (the pass may run in more than one call).
  void set_first_step(int64_t step) { first_step_ = step; }

  bool wants_probabilities(int) const override { return true; }
  void on_attention_probs(int layer, int64_t query_begin, const at::Tensor& probs) override {
    // probs [H_kv, G, c, S] over prompt + answer keys → [c, H, N], renormalised over the N prompt keys.
    const int64_t c = probs.size(2);
    at::Tensor p = probs.reshape({n_heads_, c, -1}).narrow(2, 0, n_).transpose(0, 1);
    // A step whose sliding window has passed the prompt (a windowed layer, ≥ window − 1 answer tokens
    // in) puts no mass on it: its row there is zero, not 0 / 0.
    // (A zero row divided by the smallest normal float stays zero; one [c, H, N] result, as before.)
    p = p / p.sum(-1, true).clamp_min(std::numeric_limits<float>::min());
    feed_sinks(sinks_, layer, first_step_ + query_begin, p);  // step 0 is the last prompt query
  }

 private:
  int64_t n_heads_, n_, first_step_ = 1;
  const std::vector<AnswerAttentionSink*>& sinks_;
};

}  // namespace

CaptureNeeds& CaptureNeeds::operator|=(const CaptureNeeds& o) {
  window_attn |= o.window_attn, last_query |= o.last_query, key_norms |= o.key_norms, observed |= o.observed;
  prompt_cache |= o.prompt_cache;
  for (int w : o.windows)
    if (std::find(windows.begin(), windows.end(), w) == windows.end()) windows.push_back(w);
  for (const StatisticRequest& r : o.statistics) {
    auto same_key = [&](const StatisticRequest& have) { return have.key == r.key; };
    if (std::find_if(statistics.begin(), statistics.end(), same_key) == statistics.end()) statistics.push_back(r);
  }
  return *this;
}

int64_t CaptureNeeds::answer_steps() const {
  int64_t steps = 0;
  for (const StatisticRequest& r : statistics) steps = std::max(steps, r.answer_steps);
  return steps;
}

const at::Tensor& CaptureResult::window_attention(int layer, int w) const {
  const LayerCapture& c = layers.at(layer);
  if (w == window && c.window_attn.defined()) return c.window_attn;
  for (const auto& [width, sums] : c.window_sums)
    if (width == w) return sums;
  throw Error("capture: no window attention of width " + std::to_string(w) + " at layer " + std::to_string(layer));
}

const at::Tensor& CaptureResult::statistic(int layer, const std::string& key) const {
  const LayerCapture& c = layers.at(layer);
  const auto it = c.statistics.find(key);
  if (it == c.statistics.end())
    throw Error("capture: no statistic '" + key + "' at layer " + std::to_string(layer) +
                " (was it requested in needs()?)");
  return it->second;
}

const at::Tensor& CaptureResult::statistic(const std::string& key) const {
  const auto it = statistics.find(key);
  if (it == statistics.end()) throw Error("capture: no statistic '" + key + "' (was it requested in needs()?)");
  return it->second;
}

at::Tensor window_attention_rows(const at::Tensor& q, const at::Tensor& keys, int window) {
  const int64_t H = q.size(0), n = q.size(1), d = q.size(2), Hkv = keys.size(0), G = H / Hkv, W = window;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor qw = q.narrow(1, n - W, W).to(at::kFloat).reshape({Hkv, G * W, d});
  at::Tensor scores = at::matmul(qw, keys.to(at::kFloat).transpose(1, 2)).mul_(scale).view({H, W, keys.size(1)});
  at::Tensor future = at::ones({W, W}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(1);
  scores.narrow(2, keys.size(1) - W, W).masked_fill_(future, -std::numeric_limits<float>::infinity());
  return at::softmax(scores, -1);
}

namespace {

// The extra window sums: one softmax over the widest window, a suffix sum per width (each width
// clamped to N − 1, so a window never covers the whole prompt).
std::vector<std::pair<int, at::Tensor>> extra_window_sums(const at::Tensor& q, const at::Tensor& keys,
                                                          const std::vector<int>& windows, const at::Device& device) {
  const int64_t n = q.size(1);
  int widest = 0;
  for (int w : windows) widest = std::max<int>(widest, static_cast<int>(std::min<int64_t>(w, n - 1)));
  at::Tensor rows = window_attention_rows(q, keys, widest);
  std::vector<std::pair<int, at::Tensor>> out;
  for (int w : windows) {
    const int64_t width = std::min<int64_t>(w, n - 1);
    out.emplace_back(w, rows.narrow(1, widest - width, width).sum(1).to(device));
  }
  return out;
}

}  // namespace

at::Tensor window_attention_sum(const at::Tensor& q, const at::Tensor& keys, int window) {
  return window_attention_rows(q, keys, window).sum(1);
}

PrefillCaptureTap::PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs,
                                     at::Device device, CaptureResult& out, at::Tensor rope_inv_freq)
    : config_(config),
      n_(n_prompt),
      window_(window),
      needs_(std::move(needs)),
      device_(device),
      out_(out),
      inv_freq_(std::move(rope_inv_freq)) {
  if (out_.layers.size() < static_cast<size_t>(config.n_layers)) out_.layers.resize(config.n_layers);
  const StatisticContext context{config, n_prompt, device, inv_freq_, out_};
  for (const StatisticRequest& r : needs_.statistics) {
    require(r.answer_steps >= 0 && r.make,
            "capture: statistic '" + r.key + "' has no maker or a negative answer_steps");
    statistics_.push_back(r.make(context));
    require(statistics_.back()->answer_steps() == r.answer_steps,
            "capture: statistic '" + r.key + "' reads another number of answer steps than it requested");
  }
}

void PrefillCaptureTap::on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                                            const at::Tensor& positions) {
  prefill_layer_ = q.size(1) == n_ && keys.size(1) == n_;
  if (!prefill_layer_) return;
  const int64_t H = config_.n_heads, Hkv = config_.n_kv_heads, G = H / Hkv, d = q.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor k = keys.to(at::kFloat);
  LayerCapture& c = out_.layers[layer];

  if (needs_.window_attn) c.window_attn = window_attention_sum(q, keys, window_).to(device_);
  if (needs_.last_query) {
    // The last prompt query: raw dot products (GemFilter) and its attention as the model computes it
    // (TOVA, oracle step 0): soft-capped logits and, on a sliding layer, only the last `window` keys.
    at::Tensor ql = q.narrow(1, n_ - 1, 1).to(at::kFloat).reshape({Hkv, G, d});
    at::Tensor dots = at::matmul(ql, k.transpose(1, 2)).reshape({H, n_});
    at::Tensor logits = dots * scale;
    if (config_.attn_softcap > 0) logits = logits.div(config_.attn_softcap).tanh_().mul_(config_.attn_softcap);
    if (config_.layer_slides(layer) && n_ > config_.sliding_window)
      logits.narrow(1, 0, n_ - config_.sliding_window).fill_(-std::numeric_limits<float>::infinity());
    last_attn_ = at::softmax(logits, -1);
    c.last_dots = dots.to(device_);
    c.last_attn = last_attn_.to(device_);
  }
  if (needs_.key_norms) c.key_norms = k.norm(2, -1).to(device_);
  if (!needs_.windows.empty()) c.window_sums = extra_window_sums(q, keys, needs_.windows, device_);
  for (const auto& s : statistics_) s->on_attention_inputs(layer, q, keys, positions);
}

void PrefillCaptureTap::on_attention_values(int layer, const at::Tensor& values) {
  if (!prefill_layer_) return;
  for (const auto& s : statistics_) s->on_attention_values(layer, values);
}

void PrefillCaptureTap::on_layer_output(int layer, const at::Tensor& hidden) {
  if (!prefill_layer_) return;
  for (const auto& s : statistics_) s->on_layer_output(layer, hidden);
}

void PrefillCaptureTap::finish_statistics() {
  for (const auto& s : statistics_) s->finish();
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
  // Divided by the number of prompt queries that see key j (method.md §2): the N − j at and after it,
  // at most `window` of them on a sliding-window layer, whose column sums are of its windowed attention
  // (ModelConfig::attention_window, the model's own rule, counts cache entries; so does this). kvpress's
  // ObservedAttentionPress divides by N − j on every layer (it ignores windows), which on Gemma's
  // sliding layers deflates a key that lies W tokens back by W / (N − j).
  at::Tensor seen_by = at::arange(n_, 0, -1, at::TensorOptions().dtype(at::kFloat).device(device_));
  if (const int64_t window = config_.attention_window(layer, 0, n_)) seen_by.clamp_max_(static_cast<double>(window));
  obs = obs / seen_by;
}

namespace {

// The forward calls of the answer pass over fed-back tokens [0, fed) (positions n + k): one, except
// where a LongRoPE answer crosses the original context. LongRoPE picks its factors per call by the
// call's largest position (HF longrope_frequency_update), and each decode step was its own call, so
// the tokens before that boundary rotated with the short factors and the rest with the long ones:
// two calls, split there, give each row the rotation its decode step had.
std::vector<std::pair<int64_t, int64_t>> answer_pass_calls(const ModelConfig& config, int64_t n, int64_t fed) {
  const int64_t boundary = config.rope_scaling.type == "longrope" ? config.rope_scaling.original_context - n : 0;
  if (boundary > 0 && boundary < fed) return {{0, boundary}, {boundary, fed}};
  return {{0, fed}};
}

}  // namespace

CaptureResult capture_prompt(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                             const CaptureOptions& options, const std::vector<AnswerAttentionSink*>& sinks) {
  const int64_t n = static_cast<int64_t>(prompt_ids.size());
  require(options.window >= 1, "capture: window must be at least 1");
  require(n > options.window,
          "prompt of " + std::to_string(n) +
              " tokens is not longer than the observation window W = " + std::to_string(options.window));
  CaptureResult out;
  out.n_prompt = n;
  out.window = options.window;
  out.n_kv_heads = static_cast<int>(model.config().n_kv_heads);
  // The frequencies the prompt's prefill rotates with (LongRoPE picks them by sequence length).
  out.rope_inv_freq = model.rope_frequencies(n).to(at::kCPU);
  const at::Device device = options.on_model_device ? model.options().device : at::Device(at::kCPU);

  // 1. Prefill (captures + the answer's step 0) and the greedy answer, decoded as fast as a plain run.
  CaptureTap tap(model.config(), n, options, device, out, model.rope_frequencies(n));
  tap.set_sinks(sinks);
  GenerationOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.eos_ids = options.eos_ids;
  gen.keep_cache = true;
  GenerationResult r = generate(model, prompt_ids, gen, &tap);
  tap.complete_layers();

  // 2. The fed-back answer tokens (all but the last generated one) again, over the prompt's cache,
  //    when a sink reads past step 0.
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t fed = static_cast<int64_t>(r.tokens.size()) - 1;
  int64_t wanted = 0;  // the most steps a sink reads (step 0 included)
  for (const AnswerAttentionSink* sink : tap.sinks())
    wanted = std::max(wanted, sink->answer_steps() < 0 ? fed + 1 : std::min(sink->answer_steps(), fed + 1));
  if (fed > 0 && wanted > 1) {
    AnswerTap answer(model.config(), n, tap.sinks());
    r.cache.truncate(n);
    for (const auto& [begin, end] : answer_pass_calls(model.config(), n, fed)) {
      const std::vector<int64_t> ids(r.tokens.begin() + begin, r.tokens.begin() + end);
      answer.set_first_step(1 + begin);
      model.forward(at::tensor(ids, at::kLong), at::arange(n + begin, n + end, at::kLong), r.cache, &answer,
                    /*last_rows=*/1);
    }
  }
  if (options.extra.prompt_cache) {
    r.cache.truncate(n);  // the prompt's entries only (the answer pass appended after them)
    out.prompt_cache = std::make_shared<const KVCache>(std::move(r.cache));
  }
  out.answer_tokens = r.tokens;
  out.stopped_by_eos = r.stopped_by_eos;
  out.empty_answer = r.stopped_by_eos && r.tokens.size() == 1;
  out.prefill_seconds = r.prefill_seconds;
  out.decode_seconds = r.decode_seconds;
  tap.finish_statistics();
  synchronize(model);
  out.answer_pass_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace claa
