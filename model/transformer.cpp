#include "model/transformer.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "core/error.h"
#include "model/cpu_attention.h"
#include "model/cpu_attention_args.h"
#include "model/cpu_blas.h"
#include "model/cpu_kernels.h"
#include "model/cuda_kernels.h"
#include "model/sliding_window.h"

// torch::scaled_dot_product_attention exists from LibTorch 2.0; enable_gqa from 2.5.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define CLAA_HAVE_SDPA 1
#endif

namespace claa {

at::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    require(at::hasCUDA(), "device '" + name + "' requested but this LibTorch build has no usable CUDA device");
    return at::Device(name);
  }
  throw Error("unknown device '" + name + "' (use cpu, cuda or cuda:N)");
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "fp16" || name == "float16") return at::kHalf;
  throw Error("unknown dtype '" + name + "' (use fp32, bf16 or fp16)");
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "fp32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "fp16";
    default: return "other";
  }
}

bool layer_uses_local_rope(const ModelConfig& config, int layer) {
  return config.rope_local_theta > 0 && config.layer_slides(layer);
}

ModelConfig local_rope_config(const ModelConfig& config) {
  ModelConfig local = config;
  local.rope_theta = config.rope_local_theta;
  local.rope_scaling = RopeScaling{};
  return local;
}

at::Tensor rope_inv_freq(const ModelConfig& c, int64_t sequence_length) {
  // HF _compute_default_rope_parameters: 1 / theta^(2i/d) in fp32, with a Python-float base
  // (torch.pow(Scalar, Tensor)); a float32 tensor base rounds differently (1e-4 relative at 1e6).
  at::Tensor exponent = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "longrope") {
    // HF _compute_longrope_parameters: inv_freq = 1 / (ext_factors · theta^(2i/d)), fp32.
    const std::vector<double>& factors = sequence_length > s.original_context ? s.long_factor : s.short_factor;
    const at::Tensor ext = at::tensor(factors, at::kDouble).to(at::kFloat);
    return 1.0 / (ext * at::pow(c10::Scalar(c.rope_theta), exponent));
  }
  at::Tensor inv_freq = 1.0 / at::pow(c10::Scalar(c.rope_theta), exponent);
  if (s.type == "linear") return inv_freq / s.factor;
  if (s.type != "llama3") return inv_freq;
  // HF _compute_llama3_parameters (Llama 3.1): low frequencies divided by `factor`, high kept,
  // the band in between interpolated smoothly.
  double low_wavelen = s.original_context / s.low_freq_factor;
  double high_wavelen = s.original_context / s.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / s.factor, inv_freq);
  at::Tensor smooth = (s.original_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled);
}

std::vector<int> split_layers(const ModelConfig& c, int n_devices) {
  require(n_devices >= 1, "layer split: at least one device is required");
  const int L = static_cast<int>(c.n_layers);
  std::vector<int> plan(static_cast<size_t>(std::max(0, L)), 0);
  if (n_devices == 1 || L == 0) return plan;
  // Parameter bytes are proportional to parameter counts (one dtype for all weights), so counts
  // are enough. Each layer goes to the device whose share of the running total its midpoint falls
  // in: blocks stay contiguous and the devices' totals (embedding on the first, head on the last)
  // differ by at most about one layer.
  const double q_out = static_cast<double>(c.n_heads * c.head_dim),
               kv_out = static_cast<double>(c.n_kv_heads * c.head_dim);
  const double D = static_cast<double>(c.hidden);
  const double layer = D * (2 * q_out + 2 * kv_out) + 3 * D * static_cast<double>(c.ffn) + 2 * D +
                       (c.qkv_bias ? q_out + 2 * kv_out : 0.0);
  const double embed = static_cast<double>(c.vocab) * D, head = static_cast<double>(c.vocab) * D + D;
  const double share = (embed + L * layer + head) / n_devices;
  double before = embed;
  for (int l = 0; l < L; ++l) {
    const int d = static_cast<int>((before + layer / 2) / share);
    plan[static_cast<size_t>(l)] = std::clamp(d, l == 0 ? 0 : plan[static_cast<size_t>(l) - 1], n_devices - 1);
    before += layer;
  }
  return plan;
}

std::vector<at::Device> layer_devices(const ModelConfig& c, const RuntimeOptions& o) {
  if (o.devices.empty()) return std::vector<at::Device>(static_cast<size_t>(c.n_layers), o.device);
  std::vector<at::Device> out;
  for (int d : split_layers(c, static_cast<int>(o.devices.size()))) out.push_back(o.devices[static_cast<size_t>(d)]);
  return out;
}

Transformer::Transformer(ModelConfig config, ModelWeights weights, RuntimeOptions options)
    : config_(std::move(config)), weights_(std::move(weights)), options_(options) {
  require(static_cast<int64_t>(weights_.layers.size()) == config_.n_layers, "weights do not match the layer count");
  if (!options_.devices.empty()) options_.device = options_.devices.front();
  layer_device_ = layer_devices(config_, options_);
  head_device_ = options_.devices.empty() ? options_.device : options_.devices.back();
  for (const at::Device& d : layer_device_)
    if (std::find(devices_.begin(), devices_.end(), d) == devices_.end()) devices_.push_back(d);
  if (std::find(devices_.begin(), devices_.end(), head_device_) == devices_.end()) devices_.push_back(head_device_);
  if (options_.devices.empty())
    weights_.to(options_.device, options_.dtype);  // the one-device path, as before
  else
    weights_.place(layer_device_, head_device_, options_.dtype);
  const int64_t q_out = config_.n_heads * config_.head_dim, kv_out = config_.n_kv_heads * config_.head_dim;
  for (LayerWeights& w : weights_.layers) {
    FusedProjections f;
    f.wqkv = at::cat({w.wq, w.wk, w.wv});
    w.wq = f.wqkv.narrow(0, 0, q_out);
    w.wk = f.wqkv.narrow(0, q_out, kv_out);
    w.wv = f.wqkv.narrow(0, q_out + kv_out, kv_out);
    if (w.bq.defined()) f.bqkv = at::cat({w.bq, w.bk, w.bv});
    f.w_gate_up = at::cat({w.w_gate, w.w_up});
    w.w_gate = f.w_gate_up.narrow(0, 0, config_.ffn);
    w.w_up = f.w_gate_up.narrow(0, config_.ffn, config_.ffn);
    fused_.push_back(std::move(f));
  }
  at::Tensor inv_freq = rope_inv_freq(config_);
  // GGUF files of Llama 3.1 store the llama3 scaling as per-frequency divisors instead.
  if (weights_.rope_freq_factors.defined()) inv_freq = inv_freq / weights_.rope_freq_factors.to(at::kCPU);
  // One copy per device, shared by that device's layers.
  auto per_layer = [&](const at::Tensor& freqs) {
    std::vector<at::Tensor> per_device, out;
    for (const at::Device& d : devices_) per_device.push_back(freqs.to(d));
    for (const at::Device& d : layer_device_)
      out.push_back(per_device[static_cast<size_t>(std::find(devices_.begin(), devices_.end(), d) - devices_.begin())]);
    return out;
  };
  inv_freq_ = per_layer(inv_freq);
  model_inv_freq_ = inv_freq_.front();  // before a Gemma 3's sliding layers (its layer 0 among them) get their own
  if (config_.rope_local_theta > 0) {  // Gemma 3: the sliding layers rotate with their own base, unscaled
    const std::vector<at::Tensor> local_freqs = per_layer(rope_inv_freq(local_rope_config(config_)));
    for (int l = 0; l < n_layers(); ++l)
      if (layer_uses_local_rope(config_, l)) inv_freq_[static_cast<size_t>(l)] = local_freqs[static_cast<size_t>(l)];
  }
  if (config_.rope_scaling.type == "longrope")
    inv_freq_long_ = per_layer(rope_inv_freq(config_, config_.rope_scaling.original_context + 1));
  bool any_cpu = false, any_cuda = false;
  for (const at::Device& d : devices_) any_cpu |= d.is_cpu(), any_cuda |= d.is_cuda();
  if (any_cpu) cpu::set_blas_threads(options_.fused_cpu_kernels ? 1 : at::get_num_threads());
  if (options_.attention_chunk_floats <= 0)
    options_.attention_chunk_floats = any_cuda ? int64_t{1} << 28 : int64_t{1} << 24;
}

KVCache Transformer::make_cache() const { return KVCache(n_layers()); }

at::Tensor Transformer::embed(const at::Tensor& ids) const {
  at::Tensor idx = ids.to(options_.device, at::kLong);
  if (idx.numel() > 0) {
    int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    require(lo >= 0 && hi < config_.vocab, "token id out of range [0, " + std::to_string(config_.vocab) + ")");
  }
  at::Tensor x = at::embedding(weights_.embed, idx);
  if (config_.embed_multiplier != 1.0) {
    // Gemma: × √hidden as a scalar of the compute dtype (HF: torch.tensor(hidden**0.5, dtype=...)).
    const double rounded = at::scalar_tensor(config_.embed_multiplier, at::kDouble).to(x.scalar_type()).item<double>();
    x.mul_(rounded);
  }
  return x;
}

bool Transformer::fused_cpu(const at::Tensor& x) const {
  return options_.fused_cpu_kernels && x.device().is_cpu() && x.scalar_type() == at::kFloat;
}

void Transformer::linear_cpu_into(at::Tensor& out, const at::Tensor& x, const at::Tensor& w, bool accumulate) const {
  // out = x·wᵀ, or out += x·wᵀ when accumulating; w [N, K]. BLAS runs single-threaded (set_blas_threads), so the output
  // columns are split over ATen's threads: each multiplies all rows of x by its own slab of weight rows, and no second
  // thread pool spins next to ATen's. The residual add happens inside the GEMM (beta = 1).
  RECORD_FUNCTION("claa::linear", std::vector<c10::IValue>());
  const int64_t N = w.size(0);
  const int64_t parts = std::min<int64_t>(at::get_num_threads(), std::max<int64_t>(1, N / 64));
  at::parallel_for(0, parts, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const int64_t n0 = N * p / parts, n1 = N * (p + 1) / parts;
      // A column slab of the row-major output: rows N floats apart, a valid BLAS leading dimension.
      at::Tensor slab = out.narrow(1, n0, n1 - n0), w_rows = w.narrow(0, n0, n1 - n0);
      if (x.size(0) == 1) {
        // One row (a decode step): a GEMV. OpenBLAS 0.3.21's sgemm packs the whole weight slab on every
        // call, which for one row cost more than the product (perf: 59% of a decode in sgemm_incopy);
        // sgemv streams the weights once. Decode steps took half the time (docs/benchmarks.md).
        at::Tensor y = slab.select(0, 0);
        if (accumulate)
          y.addmv_(w_rows, x.select(0, 0));
        else
          at::mv_out(y, w_rows, x.select(0, 0));
      } else if (accumulate)
        slab.addmm_(x, w_rows.t());
      else
        at::mm_out(slab, x, w_rows.t());
    }
  });
}

at::Tensor Transformer::linear_cpu(const at::Tensor& x, const at::Tensor& w) const {
  at::Tensor out = at::empty({x.size(0), w.size(0)}, x.options());
  linear_cpu_into(out, x, w, /*accumulate=*/false);
  return out;
}

bool Transformer::fused_gpu(const at::Tensor& x) const { return options_.fused_gpu_kernels && cuda::supports(x); }

at::Tensor Transformer::rms_norm(const at::Tensor& x, const at::Tensor& weight) const {
  RECORD_FUNCTION("claa::rms_norm", std::vector<c10::IValue>());
  if (fused_gpu(x) && x.dim() == 2 && x.stride(-1) == 1) return cuda::rms_norm(x, weight, config_.rms_eps);
  if (fused_cpu(x) && x.stride(-1) == 1 && x.dim() == 2) {
    at::Tensor out = at::empty(x.sizes(), x.options());
    cpu::rms_norm(x.data_ptr<float>(), x.stride(0), weight.data_ptr<float>(), x.size(0), x.size(1),
                  static_cast<float>(config_.rms_eps), out.data_ptr<float>(), out.stride(0));
    return out;
  }
  // HF LlamaRMSNorm: normalise in fp32, cast back, then scale.
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + config_.rms_eps);
  return weight * normed.to(x.scalar_type());
}

bool Transformer::long_factors(int64_t sequence_length) const {
  return !inv_freq_long_.empty() && sequence_length > config_.rope_scaling.original_context;
}

const at::Tensor& Transformer::rope_frequencies(int64_t sequence_length) const {
  return long_factors(sequence_length) ? inv_freq_long_.front() : model_inv_freq_;
}

const at::Tensor& Transformer::layer_rope_frequencies(int layer, int64_t sequence_length) const {
  const size_t l = static_cast<size_t>(layer);
  return long_factors(sequence_length) ? inv_freq_long_.at(l) : inv_freq_.at(l);
}

const at::Tensor& Transformer::layer_frequencies(int layer, const at::Tensor& positions) const {
  if (inv_freq_long_.empty() || positions.numel() == 0) return inv_freq_[static_cast<size_t>(layer)];
  // HF longrope_frequency_update: seq_len = max(position_ids) + 1, per forward call (a decode step past
  // the original context switches to the long factors while the cache keeps the short ones' keys).
  return layer_rope_frequencies(layer, positions.max().item<int64_t>() + 1);
}

std::pair<at::Tensor, at::Tensor> Transformer::rope_tables(const at::Tensor& positions,
                                                           const at::Tensor& inv_freq) const {
  at::Tensor freqs = positions.to(inv_freq.device(), at::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);  // [T, d/2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);                                                         // [T, d]
  const double scale = rope_attention_factor();  // HF: cos = emb.cos() * attention_scaling, then the dtype
  if (scale != 1.0) return {(emb.cos() * scale).to(options_.dtype), (emb.sin() * scale).to(options_.dtype)};
  return {emb.cos().to(options_.dtype), emb.sin().to(options_.dtype)};
}

at::Tensor Transformer::apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const {
  // x [heads, T, d]; HF rotate_half: (x1, x2) → (−x2, x1) on the two halves.
  int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

at::Tensor Transformer::chunked_attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                          int64_t past, const at::Tensor& key_mask, LayerTap* tap) const {
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2);
  const int64_t Hkv = k.size(0), G = H / Hkv, S = k.size(1);
  const bool want_probs = tap != nullptr && tap->wants_probabilities(layer);
  const bool want_sums = tap != nullptr && tap->wants_column_sums(layer);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));  // the model's own scale is in q (run_layer)
  const int64_t window = config_.attention_window(layer, past, T);
  const double softcap = config_.attn_softcap;
  // Query head h uses KV head h / G (HF repeat_kv), so group the query heads under their KV head
  // instead of repeating keys.
  at::Tensor qg = q.reshape({Hkv, G, T, d});
  at::Tensor out = at::empty({Hkv, G, T, d}, q.options());
  const int64_t rows = std::max<int64_t>(1, options_.attention_chunk_floats / std::max<int64_t>(1, H * S));
  auto long_opts = at::TensorOptions().dtype(at::kLong).device(q.device());
  at::Tensor column_sums = want_sums ? at::zeros({Hkv, S}, q.options().dtype(at::kFloat)) : at::Tensor();
  for (int64_t begin = 0; begin < T; begin += rows) {
    const int64_t c = std::min(rows, T - begin);
    const int64_t visible = past + begin + c;  // causal: later keys are invisible to the whole chunk
    at::Tensor kc = k.narrow(1, 0, visible).to(at::kFloat);
    at::Tensor qc = qg.narrow(2, begin, c).reshape({Hkv, G * c, d}).to(at::kFloat);
    at::Tensor scores = at::matmul(qc, kc.transpose(1, 2)).mul_(scale).view({Hkv, G, c, visible});
    if (softcap > 0) scores.div_(softcap).tanh_().mul_(softcap);  // Gemma 2: before the mask, as HF
    at::Tensor key_index = at::arange(visible, long_opts).unsqueeze(0);
    at::Tensor last_visible = (at::arange(c, long_opts) + (past + begin)).unsqueeze(1);
    at::Tensor hidden = key_index > last_visible;  // causal
    // Sliding window (masking_utils sliding_window_overlay): key j visible to query i iff i − j < window.
    if (window > 0) hidden.logical_or_(key_index <= last_visible - window);
    scores.masked_fill_(hidden, -std::numeric_limits<float>::infinity());
    if (key_mask.defined())  // a ragged cache's padding, per KV head
      scores.masked_fill_(key_mask.narrow(1, 0, visible).logical_not().view({Hkv, 1, 1, visible}),
                          -std::numeric_limits<float>::infinity());
    at::Tensor probs = at::softmax(scores, -1);
    if (want_probs) tap->on_attention_probs(layer, begin, probs);
    if (want_sums) column_sums.narrow(1, 0, visible).add_(probs.sum({1, 2}));
    at::Tensor ctx = at::matmul(probs.to(v.scalar_type()).view({Hkv, G * c, visible}), v.narrow(1, 0, visible));
    out.narrow(2, begin, c).copy_(ctx.view({Hkv, G, c, d}));
  }
  if (want_sums) tap->on_attention_column_sums(layer, column_sums);
  return out.view({H, T, d});
}

at::Tensor Transformer::fused_cpu_attention(int layer, const at::Tensor& q_in, const at::Tensor& k_in,
                                            const at::Tensor& v_in, LayerTap* tap) const {
  // The kernel takes any head/row strides but needs each row's d features contiguous.
  auto rows_contiguous = [](const at::Tensor& t) { return t.stride(2) == 1 ? t : t.contiguous(); };
  const at::Tensor q = rows_contiguous(q_in), k = rows_contiguous(k_in), v = rows_contiguous(v_in);
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), Hkv = k.size(0), S = k.size(1);
  // Written as [T, H, d], so the output projection reads it without a transposing copy.
  at::Tensor out = at::empty({T, H, d}, q.options());
  at::Tensor column_sums;
  if (tap != nullptr && tap->wants_column_sums(layer)) column_sums = at::zeros({Hkv, S}, q.options());

  const std::optional<KeySubset> wanted = tap != nullptr ? tap->subset_softmax(layer) : std::nullopt;
  const KeySubset subset = wanted.value_or(KeySubset{});
  at::Tensor subset_maxima;
  if (wanted) subset_maxima = at::zeros({Hkv, S}, q.options());

  // `out` viewed as [H, T, d]: head stride d, row stride H·d.
  cpu::AttentionArgs a = cpu::attention_args(q, k, v, out.transpose(0, 1));
  a.column_sums = column_sums.defined() ? column_sums.data_ptr<float>() : nullptr;
  if (wanted) {
    a.subset_maxima = subset_maxima.data_ptr<float>();
    a.subset_sinks = subset.sinks, a.focus_begin = subset.focus_begin, a.focus_end = subset.focus_end;
  }
  a.blas_products = true;  // when the process has OpenBLAS (Debian's LibTorch); claa's kernels otherwise
  cpu::causal_attention(a);
  if (column_sums.defined()) tap->on_attention_column_sums(layer, column_sums);
  if (wanted)
    tap->on_subset_softmax_maxima(layer,
                                  subset_maxima.narrow(1, subset.focus_begin, subset.focus_end - subset.focus_begin));
  return out.transpose(0, 1);  // [H, T, d] view
}

at::Tensor Transformer::subset_softmax_maxima(const at::Tensor& queries, const at::Tensor& keys,
                                              const KeySubset& subset) const {
  const int64_t H = queries.size(0), T = queries.size(1), d = queries.size(2);
  const int64_t Hkv = keys.size(0), G = H / Hkv, S = keys.size(1), width = subset.focus_end - subset.focus_begin;
  require(0 <= subset.sinks && subset.sinks <= subset.focus_begin && width >= 0 && subset.focus_end <= S - T,
          "attention: the subset's sinks and focus must lie, in order, before the new keys");
  // The subset's keys gathered (kvpress kvzip_press.py score_kvzip does the same): sinks, focus, new.
  at::Tensor k =
      at::cat({keys.narrow(1, 0, subset.sinks), keys.narrow(1, subset.focus_begin, width), keys.narrow(1, S - T, T)},
              1)
          .to(at::kFloat);  // [H_kv, K, d]
  const int64_t K = k.size(1);
  at::Tensor q = queries.to(at::kFloat).reshape({Hkv, G, T, d});
  at::Tensor best = at::zeros({Hkv, width}, k.options());
  const at::Tensor new_key = at::arange(T, at::TensorOptions(at::kLong).device(k.device()));
  const int64_t rows = std::max<int64_t>(1, options_.attention_chunk_floats / std::max<int64_t>(1, H * K));
  for (int64_t r = 0; r < T; r += rows) {
    const int64_t c = std::min(rows, T - r);
    at::Tensor logits = at::matmul(q.narrow(2, r, c), k.unsqueeze(1).transpose(2, 3)).mul_(1.0 / std::sqrt(double(d)));
    at::Tensor future = new_key.unsqueeze(0) > (new_key.narrow(0, r, c).unsqueeze(1));  // [c, T], causal
    logits.narrow(3, K - T, T).masked_fill_(future, -std::numeric_limits<float>::infinity());
    at::Tensor probs = at::softmax(logits, 3).narrow(3, subset.sinks, width);  // [H_kv, G, c, width]
    best = at::maximum(best, probs.amax({1, 2}));
  }
  return best;
}

std::string Transformer::prefill_attention_name() const {
  if (!options_.device.is_cuda()) {
    return options_.fused_cpu_kernels && options_.dtype == at::kFloat ? "claa's fused CPU attention"
                                                                      : "chunked explicit attention (CPU)";
  }
  if (options_.flash_attention && cuda::flash_attention_built() && options_.dtype == at::kBFloat16 &&
      config_.head_dim == 128)
    return "FlashAttention-3 on compute capability 9.0, else SDPA (LibTorch scaled_dot_product_attention)";
  return "SDPA (LibTorch scaled_dot_product_attention)";
}

at::Tensor Transformer::attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  int64_t past, const at::Tensor& key_mask, LayerTap* tap) const {
  const bool want_probs = tap != nullptr && tap->wants_probabilities(layer);
  // The fused CPU kernel computes plain causal softmax attention; a sliding window beyond its reach or
  // soft-capped logits (Gemma) take the explicit path.
  const bool plain = config_.attention_window(layer, past, q.size(1)) == 0 && config_.attn_softcap == 0;
  if (fused_cpu(q) && plain && !want_probs && !key_mask.defined()) return fused_cpu_attention(layer, q, k, v, tap);
  if (tap != nullptr)
    if (const std::optional<KeySubset> subset = tap->subset_softmax(layer)) {
      require(!key_mask.defined(), "attention: a subset softmax needs every cached key visible");
      // On Hopper with FlashAttention-3: its log-sum-exp over the subset and the column kernel's max
      // walk (cuda_kernels.h), instead of the explicit chunks' [H, T, subset] probabilities.
      const bool kernels =
          q.is_cuda() && options_.fused_gpu_kernels && options_.flash_attention &&
          cuda::subset_softmax_maxima_applies(q, k, subset->sinks, subset->focus_begin, subset->focus_end);
      tap->on_subset_softmax_maxima(
          layer, kernels ? cuda::subset_softmax_maxima(q, k, subset->sinks, subset->focus_begin, subset->focus_end)
                         : subset_softmax_maxima(q, k, *subset));
    }
  return unfused_attention(layer, q, k, v, past, key_mask, tap);
}

at::Tensor Transformer::unfused_attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                          int64_t past, const at::Tensor& key_mask, LayerTap* tap) const {
#ifdef CLAA_HAVE_SDPA
  const bool want_probs = tap != nullptr && tap->wants_probabilities(layer);
  const bool want_sums = tap != nullptr && tap->wants_column_sums(layer);
  // H2O's column sums of a causal prefill on the GPU: flash attention's log-sum-exp, then a pass over
  // the keys (cuda_kernels.h), instead of the explicit chunks' N×N probabilities.
  const int64_t window = config_.attention_window(layer, past, q.size(1));
  const bool softcap = config_.attn_softcap > 0;  // SDPA cannot soft-cap: the chunked path does
  if (want_sums && !want_probs && q.is_cuda() && past == 0 && q.size(1) == k.size(1) && !key_mask.defined() &&
      window == 0 && !softcap && options_.fused_gpu_kernels && cuda::column_sums_applies(q, k, v)) {
    auto [out, sums] = cuda::causal_attention_with_column_sums(q, k, v, options_.flash_attention);
    tap->on_attention_column_sums(layer, sums);
    return out;
  }
  // SDPA hides the probabilities: taps that need them (or their column sums) take the chunked path.
  if (q.is_cuda() && !want_probs && !want_sums && !softcap) {
    const int64_t T = q.size(1), S = k.size(1);
    const bool plain_causal = past == 0 && T == S && T > 1 && !key_mask.defined() && window == 0;
    // New tokens after a cache (KVzip's reconstruction chunks, a prompt after a cached prefix): causal
    // with the mask aligned bottom-right, which FlashAttention does natively; SDPA would need an
    // explicit boolean mask, which keeps it off its fused kernels.
    const bool causal_after_cache = past > 0 && past + T == S && T > 1 && !key_mask.defined() && window == 0;
    // FlashAttention-3 where built and the call fits it: faster than cuDNN's fused kernel for long
    // causal prefills on Hopper (docs/benchmarks.md, "GPU prefill").
    if ((plain_causal || causal_after_cache) && options_.flash_attention && cuda::flash_attention_applies(q, k, v))
      return cuda::flash_attention_causal(q, k, v);
    // Sliding-window layers of a prefill: bands of queries over the keys they can see, T·(block + window)
    // work instead of a T × T masked call (sliding_window.h).
    if (past == 0 && T == S && T > 1 && !key_mask.defined() && window > 0)
      return sliding_window_prefill_attention(q, k, v, window, sliding_window_block(window));
    at::Tensor mask;
    bool causal = false;
    if (past == 0 && T == S && !key_mask.defined() && window == 0) {
      causal = T > 1;
    } else if (T > 1 || window > 0) {
      auto opts = at::TensorOptions().dtype(at::kLong).device(q.device());
      const at::Tensor key_index = at::arange(S, opts).unsqueeze(0),
                       query_index = (at::arange(T, opts) + past).unsqueeze(1);
      mask = key_index <= query_index;
      if (window > 0) mask.logical_and_(key_index > query_index - window);
    }
    if (key_mask.defined()) {  // [H_kv, S] → [H, T, S] with each query head under its KV head
      const at::Tensor per_head = key_mask.repeat_interleave(q.size(0) / k.size(0), 0).unsqueeze(1);
      mask = mask.defined() ? per_head.logical_and(mask.unsqueeze(0)) : per_head.expand({q.size(0), T, S});
    }
    // Otherwise the backend is SDPA's own choice: on Hopper that is cuDNN's fused attention, ahead of
    // flash and memory-efficient attention, and sharing the KV heads (enable_gqa) costs nothing
    // against repeating them (docs/benchmarks.md, tools/gpu_attention_probe.py).
    at::Tensor out = at::scaled_dot_product_attention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0),
                                                      mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt,
                                                      0.0, causal, std::nullopt, /*enable_gqa=*/true);
    return out.squeeze(0);
  }
#endif
  return chunked_attention(layer, q, k, v, past, key_mask, tap);
}

void Transformer::normalize_query_key_heads(int layer, at::Tensor& qkv) const {
  if (!config_.qk_norm) return;
  RECORD_FUNCTION("claa::qk_norm", std::vector<c10::IValue>());
  const LayerWeights& w = weights_.layers.at(layer);
  const int64_t T = qkv.size(0), H = config_.n_heads, Hkv = config_.n_kv_heads, d = config_.head_dim;
  // Qwen3RMSNorm over each head's d features (modeling_qwen3.py: q_norm(q_proj(h).view(..., d))):
  // normalised in fp32, cast back to the compute dtype, then scaled, as rms_norm() does for rows.
  auto normalize = [&](at::Tensor heads, const at::Tensor& weight) {
    const at::Tensor xf = heads.to(at::kFloat);
    const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + config_.rms_eps);
    heads.copy_(weight * normed.to(heads.scalar_type()));
  };
  normalize(qkv.narrow(1, 0, H * d).view({T, H, d}), w.q_norm);
  normalize(qkv.narrow(1, H * d, Hkv * d).view({T, Hkv, d}), w.k_norm);
}

at::Tensor Transformer::project_qkv(int layer, const at::Tensor& h, const at::Tensor& positions) const {
  const FusedProjections& f = fused_.at(layer);
  const at::Tensor& inv_freq = layer_frequencies(layer, positions);
  const double scale = rope_attention_factor();  // LongRoPE's factor on cos and sin; 1 otherwise
  const int64_t T = h.size(0), H = config_.n_heads, Hkv = config_.n_kv_heads, d = config_.head_dim;
  if (fused_cpu(h)) {
    at::Tensor qkv = linear_cpu(h, f.wqkv);
    if (f.bqkv.defined()) qkv.add_(f.bqkv);
    normalize_query_key_heads(layer, qkv);
    // RoPE in place on the queries and keys, which sit side by side in each row of qkv.
    RECORD_FUNCTION("claa::rope", std::vector<c10::IValue>());
    at::Tensor freqs = positions.to(at::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);  // [T, d/2]
    at::Tensor cos = freqs.cos(), sin = freqs.sin();
    if (scale != 1.0) cos.mul_(scale), sin.mul_(scale);
    cpu::rope_in_place(qkv.data_ptr<float>(), qkv.stride(0), T, H + Hkv, d, cos.data_ptr<float>(),
                       sin.data_ptr<float>());
    return qkv;
  }
  at::Tensor qkv = at::linear(h, f.wqkv, f.bqkv);
  normalize_query_key_heads(layer, qkv);
  RECORD_FUNCTION("claa::rope", std::vector<c10::IValue>());
  if (fused_gpu(h)) {
    cuda::rope_in_place(qkv, H + Hkv, d, positions.to(at::kLong).contiguous(), inv_freq);
    // Scaling the rotated heads equals scaling cos and sin (one rounding more in bf16/fp16).
    if (scale != 1.0) qkv.narrow(1, 0, (H + Hkv) * d).mul_(scale);
    return qkv;
  }
  auto [cos, sin] = rope_tables(positions, inv_freq);
  at::Tensor q = qkv.narrow(1, 0, H * d).view({T, H, d}).transpose(0, 1);  // [H, T, d]
  at::Tensor k = qkv.narrow(1, H * d, Hkv * d).view({T, Hkv, d}).transpose(0, 1);
  q.copy_(apply_rope(q, cos, sin));
  k.copy_(apply_rope(k, cos, sin));
  return qkv;
}

at::Tensor Transformer::add_attention_output(const at::Tensor& x, const at::Tensor& attn_rows,
                                             const at::Tensor& wo) const {
  if (fused_cpu(x)) {
    at::Tensor out = x.clone();
    linear_cpu_into(out, attn_rows, wo, /*accumulate=*/true);  // the residual add inside the GEMM
    return out;
  }
  // On the GPU the residual is the GEMM's C operand (beta = 1): one pass fewer than x + linear. In
  // bf16/fp16 it rounds once, T(acc + x), where HF rounds twice, T(T(acc) + x): a deliberate, slightly
  // more exact departure from HF's rounding (the CUDA parity tests bound the effect on the logits).
  if (fused_gpu(x)) return at::addmm(x, attn_rows, wo.t());
  return x + at::linear(attn_rows, wo);
}

at::Tensor Transformer::add_normed_attention_output(int layer, const at::Tensor& x, const at::Tensor& attn_rows) const {
  const LayerWeights& w = weights_.layers.at(layer);
  if (!w.post_attn_norm.defined()) return add_attention_output(x, attn_rows, w.wo);
  // Gemma: residual + post_attention_layernorm(o_proj(attention)).
  const at::Tensor o = fused_cpu(x) ? linear_cpu(attn_rows, w.wo) : at::linear(attn_rows, w.wo);
  return x + rms_norm(o, w.post_attn_norm);
}

void Transformer::add_mlp(int layer, at::Tensor& out) const {
  const LayerWeights& w = weights_.layers.at(layer);
  const at::Tensor& w_gate_up = fused_.at(layer).w_gate_up;
  const int64_t T = out.size(0), ffn = config_.ffn;
  const bool gelu = config_.activation == "gelu_tanh";  // Gemma's GeGLU: plain ATen ops
  const bool cpu_kernels = fused_cpu(out), gpu_kernels = fused_gpu(out) && !gelu;
  const int64_t limit = options_.mlp_chunk_rows > 0 ? options_.mlp_chunk_rows : std::max<int64_t>(T, 1);
  const int64_t chunks = (T + limit - 1) / limit, rows = chunks > 0 ? (T + chunks - 1) / chunks : 0;
  for (int64_t begin = 0; begin < T; begin += rows) {
    at::Tensor part = out.narrow(0, begin, std::min(rows, T - begin));  // rows of `out`, written in place
    at::Tensor gate_up = cpu_kernels ? linear_cpu(rms_norm(part, w.ffn_norm), w_gate_up)
                                     : at::linear(rms_norm(part, w.ffn_norm), w_gate_up);  // [n, 2·ffn]
    at::Tensor act;
    {
      RECORD_FUNCTION("claa::silu_mul", std::vector<c10::IValue>());  // the scope ends at the brace
      if (gelu) {
        act = at::gelu(gate_up.narrow(1, 0, ffn), "tanh").mul_(gate_up.narrow(1, ffn, ffn));
      } else if (cpu_kernels) {
        act = at::empty({part.size(0), ffn}, part.options());
        cpu::silu_mul(gate_up.data_ptr<float>(), gate_up.stride(0), part.size(0), ffn, act.data_ptr<float>(),
                      act.stride(0));
      } else if (gpu_kernels) {
        act = cuda::silu_mul(gate_up);
      } else {
        act = at::silu(gate_up.narrow(1, 0, ffn)).mul_(gate_up.narrow(1, ffn, ffn));
      }
    }
    gate_up = at::Tensor();  // freed before the down projection's GEMM
    if (w.post_ffn_norm.defined())  // Gemma: residual + post_feedforward_layernorm(down_proj(...))
      part.add_(rms_norm(cpu_kernels ? linear_cpu(act, w.w_down) : at::linear(act, w.w_down), w.post_ffn_norm));
    else if (cpu_kernels)
      linear_cpu_into(part, act, w.w_down, /*accumulate=*/true);
    else if (gpu_kernels)
      part.addmm_(act, w.w_down.t());  // rounds once, as in add_attention_output
    else
      part.add_(at::linear(act, w.w_down));
  }
}

at::Tensor Transformer::run_layer(int layer, const at::Tensor& x_in, const at::Tensor& positions_in, KVCache& cache,
                                  LayerTap* tap, int64_t output_rows) const {
  const LayerWeights& w = weights_.layers.at(layer);
  // A layer split moves the hidden states (and position ids) at block boundaries, here, so no
  // caller needs to know where a layer lives. On one device both are no-ops (no copy).
  const at::Device device = layer_device_[static_cast<size_t>(layer)];
  const at::Tensor x = x_in.device() == device ? x_in : x_in.to(device);
  const at::Tensor positions = positions_in.device() == device ? positions_in : positions_in.to(device);
  const int64_t T = x.size(0), H = config_.n_heads, Hkv = config_.n_kv_heads, d = config_.head_dim;
  require(positions.numel() == T, "run_layer: one position id per token is required");

  at::Tensor qkv = project_qkv(layer, rms_norm(x, w.attn_norm), positions);  // [T, (H + 2·H_kv)·d]
  // A model's own attention scale (Gemma: query_pre_attn_scalar^−½) rides on the queries, so every
  // attention path and every tap computes q·k/√d with the model's logits.
  const double query_factor = config_.attention_scale() * std::sqrt(static_cast<double>(d));
  if (std::abs(query_factor - 1.0) > 1e-12) qkv.narrow(1, 0, H * d).mul_(query_factor);
  at::Tensor q = qkv.narrow(1, 0, H * d).view({T, H, d}).transpose(0, 1);    // [H, T, d]
  at::Tensor k = qkv.narrow(1, H * d, Hkv * d).view({T, Hkv, d}).transpose(0, 1);
  at::Tensor v = qkv.narrow(1, (H + Hkv) * d, Hkv * d).view({T, Hkv, d}).transpose(0, 1);

  const int64_t past = cache.length(layer);
  // The window counts cache entries, as HF does: its sliding-window cache layer keeps the last window − 1
  // entries whatever positions they hold (cache_utils DynamicSlidingWindowLayer) and its masks index the
  // cache, not position ids. So after pruning, a windowed layer sees its last `window` kept entries. A
  // head-ragged cache (Ada-KV) would count each head's padding too: refused.
  require(config_.attention_window(layer, past, T) == 0 || !cache.key_mask(layer).defined(),
          "layer " + std::to_string(layer) + " uses sliding-window attention (window " +
              std::to_string(config_.sliding_window) + "): a head-ragged cache beyond the window is not supported");
  at::Tensor keys, values;
  {
    RECORD_FUNCTION("claa::kv_append", std::vector<c10::IValue>());
    std::tie(keys, values) = cache.append(layer, k, v);
  }
  if (tap != nullptr) {
    tap->on_attention_inputs(layer, q, keys, positions);
    tap->on_attention_values(layer, values);
  }
  at::Tensor attn;  // [H, T, d]
  {
    // One named scope for `claa bench prefill --profile`, whichever path attention takes.
    RECORD_FUNCTION("claa::attention", std::vector<c10::IValue>());
    attn = attention(layer, q, keys, values, past, cache.key_mask(layer), tap);
  }
  qkv = q = k = v = at::Tensor();  // the cache holds its own copy of k and v

  const int64_t rows = output_rows > 0 ? std::min(output_rows, T) : T;  // the tokens that go on
  at::Tensor out = add_normed_attention_output(layer, x.narrow(0, T - rows, rows),
                                               attn.narrow(1, T - rows, rows).transpose(0, 1).reshape({rows, H * d}));
  attn = at::Tensor();
  add_mlp(layer, out);
  if (tap != nullptr) tap->on_layer_output(layer, out);
  return out;
}

at::Tensor Transformer::logits(const at::Tensor& hidden) const {
  at::Tensor h = rms_norm(hidden.device() == head_device_ ? hidden : hidden.to(head_device_), weights_.final_norm);
  at::Tensor out = fused_cpu(h) ? linear_cpu(h, weights_.lm_head) : at::linear(h, weights_.lm_head);
  // Gemma 2: final_logit_softcapping, in the compute dtype as HF.
  if (config_.final_softcap > 0) out = out.div(config_.final_softcap).tanh_().mul_(config_.final_softcap);
  return out.to(at::kFloat);
}

at::Tensor Transformer::forward(const at::Tensor& ids, const at::Tensor& positions, KVCache& cache, LayerTap* tap,
                                int64_t last_rows) const {
  at::Tensor x = embed(ids);
  for (int l = 0; l < n_layers(); ++l) x = run_layer(l, x, positions, cache, tap, l + 1 == n_layers() ? last_rows : 0);
  return x;
}

}  // namespace claa
