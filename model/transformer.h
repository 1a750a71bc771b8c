// A Llama-family decoder in LibTorch, batch 1, written out layer by layer (in the spirit of
// llama2.c / gpt-fast): RMSNorm, RoPE (HF rotate_half convention), GQA attention, SwiGLU; Qwen3's
// per-head q/k RMSNorm before RoPE; Gemma's scaled embeddings, norms around attention and MLP, GeGLU,
// attention scale, soft-caps and sliding-window layers.
//
// The model is deliberately exposed one layer at a time (embed → run_layer × L → logits) so that
// prefill pipelines can drop tokens after a layer (keeping their original position ids) and
// compress each layer's KV cache per KV head, and so that a LayerTap can observe exactly the
// post-RoPE queries and keys that the oracle and the heuristics need.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/model_config.h"
#include "model/weights.h"

namespace claa {

// A softmax over part of the keys only (KVzip, heuristics/kvzip.cpp): the first `sinks` keys, the
// focus keys [focus_begin, focus_end) and the T new keys; sinks ≤ focus_begin ≤ focus_end ≤ S − T.
struct KeySubset {
  int64_t sinks = 0, focus_begin = 0, focus_end = 0;
};

// Observer of one forward pass. All tensors are views valid only during the call.
class LayerTap {
 public:
  virtual ~LayerTap() = default;
  // Post-RoPE queries of the tokens being processed, [H, T, d], and every key they attend to
  // (the layer's KV cache including the new tokens), [H_kv, S, d]. The new tokens' keys are the
  // last T of S; their position ids are `positions` [T].
  virtual void on_attention_inputs(int layer, const at::Tensor& queries, const at::Tensor& keys,
                                   const at::Tensor& positions) {}
  // Every value the same queries attend to, [H_kv, S, d] (called right after on_attention_inputs;
  // Expected Attention's value norms).
  virtual void on_attention_values(int layer, const at::Tensor& values) {}
  // If true for a layer, attention runs the explicit (chunked) path and hands over the softmax
  // probabilities of each query chunk: probs [H_kv, G, c, S'] (fp32) for new-token queries
  // [query_begin, query_begin + c), over keys [0, S'); keys beyond S' are masked for the chunk.
  virtual bool wants_probabilities(int layer) const { return false; }
  virtual void on_attention_probs(int layer, int64_t query_begin, const at::Tensor& probs) {}
  // If true for a layer (and probabilities are not wanted), attention hands over, once per call,
  // the column sums of its softmax probabilities: sums [H_kv, S] (fp32) = Σ over the G query
  // heads of each group and all T queries (H2O). The fused CPU attention computes them without
  // materialising probabilities; other paths add up the explicit chunks.
  virtual bool wants_column_sums(int layer) const { return false; }
  virtual void on_attention_column_sums(int layer, const at::Tensor& sums) {}
  // If it returns a subset for a layer, attention also hands over, once per call, the largest
  // probability each focus key gets from any of the T queries and G query heads of its group under a
  // softmax restricted to the subset: maxima [H_kv, focus_end − focus_begin] (fp32). The fused CPU
  // attention computes them in its own pass; other paths explicitly, query chunk by query chunk.
  virtual std::optional<KeySubset> subset_softmax(int layer) const { return std::nullopt; }
  virtual void on_subset_softmax_maxima(int layer, const at::Tensor& maxima) {}
  // Hidden state leaving the layer, [T, hidden] (the last rows only where run_layer was asked for fewer).
  virtual void on_layer_output(int layer, const at::Tensor& hidden) {}
};

struct RuntimeOptions {
  at::Device device = at::kCPU;
  // Layer split over several devices (config model.devices, e.g. cuda:0 + cuda:1), for models that
  // do not fit one: contiguous blocks of layers per device (split_layers), the embedding on the
  // first, the final norm and LM head on the last; hidden states move at block boundaries inside
  // run_layer / logits, so every caller (capture, pipelines, decoding) works unchanged. Empty = all
  // on `device`; otherwise `device` is taken to be devices.front().
  std::vector<at::Device> devices;
  at::ScalarType dtype = at::kFloat;
  // Explicit attention processes this many query rows at a time per layer so that one chunk's
  // scores hold at most this many floats (H · rows · S). 0 = pick by device: 16M floats (64 MiB)
  // on the CPU, 256M (1 GiB) on a GPU, where fewer, larger chunks keep kernels busy.
  int64_t attention_chunk_floats = 0;
  // CPU fp32 layers through claa's fused kernels (model/cpu_attention.h, cpu_kernels.h)
  // instead of plain ATen ops and the explicit chunked attention, which stay for other devices
  // and dtypes, for taps that need probabilities, and as the reference in tests.
  bool fused_cpu_kernels = true;
  // GPU layers through claa's fused CUDA kernels (model/cuda_kernels.h: RMSNorm, RoPE,
  // SiLU·up) and residual adds inside the GEMMs, where the build has them; false = the plain
  // ATen ops (the comparison and reference path).
  bool fused_gpu_kernels = true;
  // Causal prefill attention through FlashAttention-3's Hopper kernel where the build has it and
  // the call fits it (cuda_kernels.h: flash_attention_applies); false = LibTorch's SDPA always.
  bool flash_attention = true;
  // The MLP runs over at most this many rows at a time, so its [rows, 2·ffn] and [rows, ffn]
  // activations stay bounded for long prompts (128K rows of Llama-3.1-8B: 7 GiB + 3.5 GiB at once,
  // 0.9 + 0.45 GiB in 16K-row chunks). Chunks are equal in size; 0 = no chunking.
  int64_t mlp_chunk_rows = 16384;
};

class Transformer {
 public:
  Transformer(ModelConfig config, ModelWeights weights, RuntimeOptions options);

  // Which attention a causal prefill on this model's device runs, in words, for bench output.
  std::string prefill_attention_name() const;
  const ModelConfig& config() const { return config_; }
  // The weights as loaded (HF layout: Q/K rows unpermuted), e.g. for a worker that rebuilds a layer
  // in another framework (heuristics/external.cpp).
  const ModelWeights& weights() const { return weights_; }
  const RuntimeOptions& options() const { return options_; }
  int n_layers() const { return static_cast<int>(config_.n_layers); }
  // Where layer l's weights and KV cache live, and where the LM head lives (the last device of a
  // split; options().device otherwise). Tensors a layer returns are on its device.
  at::Device layer_device(int layer) const { return layer_device_.at(layer); }
  at::Device head_device() const { return head_device_; }
  // Every distinct device the model uses, in layer order (one entry unless split).
  const std::vector<at::Device>& devices() const { return devices_; }

  // Token ids [T] (int64, any device) → hidden states [T, hidden] in the compute dtype.
  at::Tensor embed(const at::Tensor& ids) const;
  // One decoder layer. `positions` [T] are the tokens' original position ids (RoPE), which need
  // not be contiguous after tokens were dropped. Appends the new keys/values to cache.layer(l);
  // queries attend causally to the cache's earlier entries and the new tokens up to themselves.
  // With `output_rows` > 0, only the last that many tokens go on after attention (output projection,
  // MLP; the tap's on_layer_output sees those rows): every key and value still enters the cache and
  // every query's attention still reaches the tap. For a last layer whose other rows nobody reads.
  at::Tensor run_layer(int layer, const at::Tensor& hidden, const at::Tensor& positions, KVCache& cache,
                       LayerTap* tap = nullptr, int64_t output_rows = 0) const;
  // Final RMSNorm + LM head for the given rows → fp32 logits [T, vocab].
  at::Tensor logits(const at::Tensor& hidden) const;

  // Convenience: all layers over `ids` with `positions`, returning the final hidden states — of every
  // token, or (`last_rows` > 0) of the last `last_rows` tokens only: the last layer then runs its output
  // projection and MLP for those rows alone (a prefill needs the last token's logits, KVzip's
  // reconstruction only what its tap saw), which saves ~2.5% of a prefill's linear work on SmolLM2.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& positions, KVCache& cache, LayerTap* tap = nullptr,
                     int64_t last_rows = 0) const;

  KVCache make_cache() const;
  // The model's RoPE inverse frequencies [head_dim/2] fp32 (scaling and GGUF freq factors applied), those
  // of its full-attention layers (a Gemma 3's sliding layers have their own: layer_rope_frequencies). A tap can
  // undo RoPE on queries it sees (Expected Attention's pre-RoPE query statistics). On the first device
  // (a split model holds the same values on each).
  // LongRoPE models rotate a call whose last position is p with the long frequencies when
  // p + 1 > the original context, else the short ones (HF longrope_frequency_update); this returns
  // those of a sequence of `sequence_length` tokens. Their cos and sin are scaled by
  // rope_attention_factor(), so a tap that undoes the rotation keeps that factor on its queries.
  const at::Tensor& rope_frequencies(int64_t sequence_length = 0) const;
  // The same for one layer, on that layer's device: a Gemma 3 sliding layer's are its own (rope_local_theta,
  // unscaled; layer_uses_local_rope), every other layer's are rope_frequencies'.
  const at::Tensor& layer_rope_frequencies(int layer, int64_t sequence_length) const;
  double rope_attention_factor() const { return config_.rope_scaling.attention_factor; }

 private:
  bool fused_cpu(const at::Tensor& x) const;
  bool fused_gpu(const at::Tensor& x) const;
  at::Tensor linear_cpu(const at::Tensor& x, const at::Tensor& w) const;
  void linear_cpu_into(at::Tensor& out, const at::Tensor& x, const at::Tensor& w, bool accumulate) const;
  at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const;
  at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const;
  // Qwen3's per-head RMSNorm of the query and key heads in qkv [T, (H + 2·H_kv)·d], in place
  // (before RoPE); nothing for other architectures.
  void normalize_query_key_heads(int layer, at::Tensor& qkv) const;
  // The fused q|k|v projection of h [T, hidden] with RoPE applied to its query and key heads:
  // [T, (H + 2·H_kv)·d].
  at::Tensor project_qkv(int layer, const at::Tensor& h, const at::Tensor& positions) const;
  // x + attn_rows · w_oᵀ (a new tensor; x is left alone).
  at::Tensor add_attention_output(const at::Tensor& x, const at::Tensor& attn_rows, const at::Tensor& wo) const;
  // The same through the layer's post-attention norm where it has one (Gemma).
  at::Tensor add_normed_attention_output(int layer, const at::Tensor& x, const at::Tensor& attn_rows) const;
  // out += MLP(ffn_norm(out)) in place, row chunk by row chunk (RuntimeOptions::mlp_chunk_rows).
  void add_mlp(int layer, at::Tensor& out) const;
  std::pair<at::Tensor, at::Tensor> rope_tables(const at::Tensor& positions, const at::Tensor& inv_freq) const;
  // key_mask [H_kv, S] bool (KVCache::key_mask; undefined = every key visible) hides a ragged cache's
  // padding from its head on top of the causal mask.
  at::Tensor attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past,
                       const at::Tensor& key_mask, LayerTap* tap) const;
  at::Tensor chunked_attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past,
                               const at::Tensor& key_mask, LayerTap* tap) const;
  at::Tensor fused_cpu_attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 LayerTap* tap) const;
  // SDPA on a GPU, else the chunked path (attention() without the fused CPU kernel).
  at::Tensor unfused_attention(int layer, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t past,
                               const at::Tensor& key_mask, LayerTap* tap) const;
  // LayerTap::subset_softmax's maxima computed explicitly: q [H, T, d], keys [H_kv, S, d] → [H_kv, focus].
  at::Tensor subset_softmax_maxima(const at::Tensor& q, const at::Tensor& keys, const KeySubset& subset) const;

  // Per layer, the projections that read the same input concatenated along the output rows, so
  // each is one larger GEMM: [wq; wk; wv] (and biases) and [w_gate; w_up]. Built once at load;
  // the separate weights in weights_ then become views into them (no second copy).
  struct FusedProjections {
    at::Tensor wqkv, bqkv, w_gate_up;
  };

  ModelConfig config_;
  ModelWeights weights_;
  std::vector<FusedProjections> fused_;
  RuntimeOptions options_;
  std::vector<at::Device> layer_device_, devices_;
  at::Device head_device_ = at::kCPU;
  std::vector<at::Tensor> inv_freq_;  // per layer: [head_dim/2] fp32 on the layer's device (shared per device)
  std::vector<at::Tensor> inv_freq_long_;  // the same for LongRoPE's long factors; empty otherwise
  at::Tensor model_inv_freq_;              // the model's own (full-attention layers'), on the first device
  // LongRoPE: whether a sequence of `sequence_length` tokens rotates with the long factors.
  bool long_factors(int64_t sequence_length) const;
  // The frequencies layer `layer` rotates `positions` with (LongRoPE: by the largest position).
  const at::Tensor& layer_frequencies(int layer, const at::Tensor& positions) const;
};

// The layer split of a model over `n_devices` devices (layer → device index, non-decreasing, so
// each device holds one contiguous block): balanced by parameter bytes, counting the embedding
// on the first device and the final norm + LM head on the last. Torch-free arithmetic on the
// config's shapes, so random-weight models can be made in place, block by block.
std::vector<int> split_layers(const ModelConfig& config, int n_devices);
// Per layer, the device it runs on under `options` (all options.device when not split).
std::vector<at::Device> layer_devices(const ModelConfig& config, const RuntimeOptions& options);

// Parse "cpu" | "cuda" | "cuda:N" and "fp32" | "bf16" | "fp16" (claa::Error on anything else).
at::Device parse_device(const std::string& name);
at::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(at::ScalarType t);

// Inverse RoPE frequencies with the config's scaling (HF _compute_default / _compute_llama3_parameters /
// _compute_longrope_parameters, which picks the long factors for sequences beyond the original context).
at::Tensor rope_inv_freq(const ModelConfig& config, int64_t sequence_length = 0);
// Whether layer `layer` rotates with its own RoPE base (Gemma 3's sliding layers: rope_local_theta,
// unscaled) rather than the model's, and the config that describes that rotation.
bool layer_uses_local_rope(const ModelConfig& config, int layer);
ModelConfig local_rope_config(const ModelConfig& config);

}  // namespace claa
