#include "harness/capture/capture.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "harness/model/generate.h"
#include "harness/util/error.h"

namespace claa {

namespace {

// The LayerTap of the generation: the prefill quantities come from PrefillCaptureTap (the same code
// the pipelines run), and the last prompt query's attention is the oracle's step 0. Decode steps are
// not observed: they run the model's fast attention, and the answer's attention is taken afterwards
// in one batched pass (AnswerTap).
class CaptureTap : public LayerTap {
 public:
  CaptureTap(const ModelConfig& config, int64_t n_prompt, const CaptureOptions& options, at::Device device,
             CaptureResult& out, const at::Tensor& rope_inv_freq, OracleAccumulator& oracle,
             OracleAccumulator* spec)
      : config_(config), n_(n_prompt),
        prefill_(config, n_prompt, options.window, needs_of(options), device, out, rope_inv_freq),
        oracle_(oracle), spec_(spec) {}

  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor& positions) override {
    prefilling_ = q.size(1) == n_ && keys.size(1) == n_;
    if (!prefilling_) return;
    prefill_.on_attention_inputs(layer, q, keys, positions);
    const at::Tensor& last = prefill_.last_attention();  // [H, N]
    oracle_.add_steps(layer, 0, last.unsqueeze(0));
    if (spec_) spec_->add_steps(layer, 0, last.unsqueeze(0));
  }
  void on_attention_values(int layer, const at::Tensor& values) override {
    if (prefilling_) prefill_.on_attention_values(layer, values);
  }
  bool wants_column_sums(int layer) const override { return prefilling_ && prefill_.wants_column_sums(layer); }
  void on_attention_column_sums(int layer, const at::Tensor& sums) override {
    prefill_.on_attention_column_sums(layer, sums);
  }
  void complete_layers() {
    for (int l = 0; l < static_cast<int>(config_.n_layers); ++l) prefill_.complete_layer(l);
  }

 private:
  static CaptureNeeds needs_of(const CaptureOptions& o) {
    CaptureNeeds needs = CaptureNeeds::all_but_observed();
    needs.observed = o.observed_attention;
    needs |= o.extra;
    needs.last_query = true;  // the oracle's step 0
    return needs;
  }

  const ModelConfig& config_;
  int64_t n_;
  PrefillCaptureTap prefill_;
  OracleAccumulator& oracle_;
  OracleAccumulator* spec_;
  bool prefilling_ = false;
};

// The fed-back answer tokens run again, all at once, over the prompt's KV cache: the same queries
// as the greedy decode steps (teacher forcing on the answer the model produced), so their softmax
// rows are the oracle's steps 1..T−1 (method.md §1 step 2), up to float reassociation. One
// explicit attention per layer over T−1 query rows replaces T−1 single-row ones.
class AnswerTap : public LayerTap {
 public:
  AnswerTap(const ModelConfig& config, int64_t n_prompt, OracleAccumulator& oracle, OracleAccumulator* spec,
            int64_t spec_steps)
      : n_heads_(config.n_heads), n_(n_prompt), oracle_(oracle), spec_(spec), spec_steps_(spec_steps) {}

  bool wants_probabilities(int) const override { return true; }
  void on_attention_probs(int layer, int64_t query_begin, const at::Tensor& probs) override {
    // probs [H_kv, G, c, S] over prompt + answer keys → [c, H, N], renormalised over the N prompt keys.
    const int64_t c = probs.size(2);
    at::Tensor p = probs.reshape({n_heads_, c, -1}).narrow(2, 0, n_).transpose(0, 1);
    p = p / p.sum(-1, true);
    const int64_t first_step = 1 + query_begin;  // step 0 is the last prompt query
    oracle_.add_steps(layer, first_step, p);
    // Speculative Prefill's look-ahead: only the first spec_steps steps (step 0 included).
    const int64_t spec_rows = std::clamp<int64_t>(spec_steps_ - first_step, 0, c);
    if (spec_ && spec_rows > 0) spec_->add_steps(layer, first_step, p.narrow(0, 0, spec_rows));
  }

 private:
  int64_t n_heads_, n_;
  OracleAccumulator& oracle_;
  OracleAccumulator* spec_;
  int64_t spec_steps_;
};

}  // namespace

CaptureNeeds& CaptureNeeds::operator|=(const CaptureNeeds& o) {
  window_attn |= o.window_attn, last_query |= o.last_query, key_norms |= o.key_norms, observed |= o.observed;
  value_norms |= o.value_norms, expected_future = std::max(expected_future, o.expected_future);
  for (int w : o.windows)
    if (std::find(windows.begin(), windows.end(), w) == windows.end()) windows.push_back(w);
  return *this;
}

const at::Tensor& CaptureResult::window_attention(int layer, int w) const {
  const LayerCapture& c = layers.at(layer);
  if (w == window && c.window_attn.defined()) return c.window_attn;
  for (const auto& [width, sums] : c.window_sums)
    if (width == w) return sums;
  throw Error("capture: no window attention of width " + std::to_string(w) + " at layer " + std::to_string(layer));
}

namespace {

// Softmax rows of the last `window` queries over all keys, causal inside the trailing block: [H, W, N].
at::Tensor window_attention_rows(const at::Tensor& q, const at::Tensor& keys, int window) {
  const int64_t H = q.size(0), n = q.size(1), d = q.size(2), Hkv = keys.size(0), G = H / Hkv, W = window;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor qw = q.narrow(1, n - W, W).to(at::kFloat).reshape({Hkv, G * W, d});
  at::Tensor scores = at::matmul(qw, keys.to(at::kFloat).transpose(1, 2)).mul_(scale).view({H, W, keys.size(1)});
  at::Tensor future = at::ones({W, W}, at::TensorOptions().dtype(at::kBool).device(q.device())).triu(1);
  scores.narrow(2, keys.size(1) - W, W).masked_fill_(future, -std::numeric_limits<float>::infinity());
  return at::softmax(scores, -1);
}

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

at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq) {
  // q = q_pre·cos + rotate_half(q_pre)·sin is a rotation per frequency pair; its inverse turns by −θ.
  at::Tensor freqs = positions.to(q.device(), at::kFloat).unsqueeze(1) * inv_freq.to(q.device(), at::kFloat).unsqueeze(0);
  at::Tensor angles = at::cat({freqs, freqs}, -1);  // [T, d]
  at::Tensor x = q.to(at::kFloat);
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);  // rotate_half
  return x * angles.cos() - rotated * angles.sin();
}

std::pair<at::Tensor, at::Tensor> query_statistics(const at::Tensor& q_pre) {
  const int64_t skip = std::min<int64_t>(kQueryStatsSkip, q_pre.size(1) - 1);
  at::Tensor rows = q_pre.narrow(1, skip, q_pre.size(1) - skip).to(at::kFloat);  // [H, T', d]
  at::Tensor mean = rows.mean(1, true);
  at::Tensor centred = rows - mean;
  at::Tensor cov = at::matmul(centred.transpose(1, 2), centred) / static_cast<double>(rows.size(1));
  return {mean.squeeze(1), cov};
}

at::Tensor average_rope(int64_t n, int64_t n_future, const at::Tensor& inv_freq) {
  at::Tensor f = inv_freq.to(at::kCPU, at::kDouble);
  const int64_t half = f.size(0), d = 2 * half;
  at::Tensor freqs = at::arange(n, n + n_future, at::kDouble).unsqueeze(1) * f.unsqueeze(0);
  at::Tensor angles = at::cat({freqs, freqs}, -1);  // [n_future, d]
  at::Tensor eye = at::eye(half, at::kDouble), zero = at::zeros({half, half}, at::kDouble);
  // R(p) = diag(cos) + diag(sin)·P with P = [[0, −I], [I, 0]] (x·R(p)ᵀ applies RoPE to a row x).
  at::Tensor P = at::cat({at::cat({zero, -eye}, 1), at::cat({eye, zero}, 1)}, 0);
  at::Tensor R = angles.cos().mean(0).diag() + angles.sin().mean(0).unsqueeze(1) * P;
  return R.to(at::kFloat).to(inv_freq.device()).view({d, d});
}

std::pair<at::Tensor, at::Tensor> expected_attention_logits(const at::Tensor& q, const at::Tensor& positions,
                                                            const at::Tensor& keys, const at::Tensor& inv_freq,
                                                            int64_t n_future) {
  const int64_t H = q.size(0), d = q.size(2), Hkv = keys.size(0), G = H / Hkv, n = keys.size(1);
  auto [mu, cov] = query_statistics(unrotate_queries(q, positions, inv_freq));
  at::Tensor R = average_rope(q.size(1), n_future, inv_freq).to(q.device());
  mu = at::matmul(mu, R.t());                             // [H, d]
  cov = at::matmul(R, at::matmul(cov, R.t()));            // [H, d, d]
  at::Tensor k = keys.to(at::kFloat).unsqueeze(1).expand({Hkv, G, n, d}).reshape({H, n, d});
  at::Tensor mean_term = at::matmul(k, mu.unsqueeze(-1)).squeeze(-1) / std::sqrt(static_cast<double>(d));
  at::Tensor cov_term = (at::matmul(k, cov) * k).sum(-1) / static_cast<double>(d) / 2.0;
  return {mean_term, cov_term};
}

at::Tensor window_attention_sum(const at::Tensor& q, const at::Tensor& keys, int window) {
  return window_attention_rows(q, keys, window).sum(1);
}

PrefillCaptureTap::PrefillCaptureTap(const ModelConfig& config, int64_t n_prompt, int window, CaptureNeeds needs,
                                     at::Device device, CaptureResult& out, at::Tensor rope_inv_freq)
    : config_(config), n_(n_prompt), window_(window), needs_(std::move(needs)), device_(device), out_(out),
      inv_freq_(std::move(rope_inv_freq)) {
  require(needs_.expected_future == 0 || inv_freq_.defined(), "capture: Expected Attention needs the model's RoPE frequencies");
  if (out_.layers.size() < static_cast<size_t>(config.n_layers)) out_.layers.resize(config.n_layers);
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
    // The last prompt query: raw dot products (GemFilter) and its softmax (TOVA, oracle step 0).
    at::Tensor ql = q.narrow(1, n_ - 1, 1).to(at::kFloat).reshape({Hkv, G, d});
    at::Tensor dots = at::matmul(ql, k.transpose(1, 2)).reshape({H, n_});
    last_attn_ = at::softmax(dots * scale, -1);
    c.last_dots = dots.to(device_);
    c.last_attn = last_attn_.to(device_);
  }
  if (needs_.key_norms) c.key_norms = k.norm(2, -1).to(device_);
  if (!needs_.windows.empty()) c.window_sums = extra_window_sums(q, keys, needs_.windows, device_);
  if (needs_.expected_future > 0) {
    auto [mean, cov] = expected_attention_logits(q, positions, keys, inv_freq_.to(q.device()), needs_.expected_future);
    c.expected_mean = mean.to(device_);
    c.expected_cov = cov.to(device_);
  }
}

void PrefillCaptureTap::on_attention_values(int layer, const at::Tensor& values) {
  if (!prefill_layer_ || !needs_.value_norms) return;
  out_.layers[layer].value_norms = values.to(at::kFloat).norm(2, -1).to(device_);
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
  out.rope_inv_freq = model.rope_frequencies().to(at::kCPU);
  const at::Device device = options.on_model_device ? model.options().device : at::Device(at::kCPU);
  const int n_layers = static_cast<int>(model.config().n_layers);
  OracleAccumulator oracle(n_layers, n, options.oracle, device);
  std::optional<OracleAccumulator> spec;
  if (options.spec_lookahead > 0) {
    OracleOptions o;  // method.md §2: pool rows (7), max over layers and heads, mean over steps
    o.pool_kernel = 0;
    o.pool_rows_before_max = options.spec_pool;
    spec.emplace(n_layers, n, o, device);
  }
  OracleAccumulator* spec_ptr = spec ? &*spec : nullptr;

  // 1. Prefill (captures + oracle step 0) and the greedy answer, decoded as fast as a plain run.
  CaptureTap tap(model.config(), n, options, device, out, model.rope_frequencies(), oracle, spec_ptr);
  GenerationOptions gen;
  gen.max_new_tokens = options.max_new_tokens;
  gen.eos_ids = options.eos_ids;
  gen.keep_cache = true;
  GenerationResult r = generate(model, prompt_ids, gen, &tap);
  tap.complete_layers();

  // 2. The fed-back answer tokens (all but the last generated one) again, over the prompt's cache.
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t fed = static_cast<int64_t>(r.tokens.size()) - 1;
  if (fed > 0) {
    AnswerTap answer(model.config(), n, oracle, spec_ptr, options.spec_lookahead);
    r.cache.truncate(n);
    std::vector<int64_t> ids(r.tokens.begin(), r.tokens.end() - 1);
    model.forward(at::tensor(ids, at::kLong), at::arange(n, n + fed, at::kLong), r.cache, &answer);
  }
  out.oracle = oracle.oracle();
  out.oracle_per_layer = oracle.per_layer();
  out.oracle_steps = oracle.steps();
  if (spec) {
    out.spec_scores = spec->oracle();
    out.spec_steps = spec->steps();
  }
  synchronize(model);
  out.answer_pass_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  out.answer_tokens = r.tokens;
  out.stopped_by_eos = r.stopped_by_eos;
  out.empty_answer = r.stopped_by_eos && r.tokens.size() == 1;
  out.prefill_seconds = r.prefill_seconds;
  out.decode_seconds = r.decode_seconds;
  return out;
}

}  // namespace claa
