// The tensors of a Llama-family decoder, in HF layout ([out, in] linear weights, HF rotate_half
// RoPE convention), loaded from GGUF, an HF safetensors folder, or seeded random values.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "model/model_config.h"

namespace claa {

class GgufFile;

struct LayerWeights {
  at::Tensor attn_norm, ffn_norm;            // [hidden]
  at::Tensor post_attn_norm, post_ffn_norm;  // [hidden]; undefined unless sandwich_norms (Gemma)
  at::Tensor wq, wk, wv, wo;        // [out, in]
  at::Tensor bq, bk, bv;            // undefined unless qkv_bias
  at::Tensor q_norm, k_norm;        // [head_dim]; undefined unless qk_norm (Qwen3)
  at::Tensor w_gate, w_up, w_down;  // [ffn, hidden], [ffn, hidden], [hidden, ffn]

  // Every tensor above (undefined ones included), for moving them together.
  std::vector<at::Tensor*> tensors() {
    return {&attn_norm, &ffn_norm, &post_attn_norm, &post_ffn_norm, &wq,     &wk,   &wv,    &wo, &bq,
            &bk,        &bv,       &q_norm,         &k_norm,        &w_gate, &w_up, &w_down};
  }
};

struct ModelWeights {
  at::Tensor embed;              // [vocab, hidden]
  at::Tensor final_norm;         // [hidden]
  at::Tensor lm_head;            // [vocab, hidden]; aliases embed when tied
  at::Tensor rope_freq_factors;  // optional [head_dim/2] divisor of inv_freq (llama3 GGUFs)
  std::vector<LayerWeights> layers;

  // Move every tensor to `device` and cast floating tensors to `dtype`.
  void to(at::Device device, at::ScalarType dtype);
  // The same for a layer split: layer l to layer_devices[l], the embedding to the first layer's
  // device, the final norm and LM head to `head_device` (a tied head is copied there when that
  // is another device: the copy costs memory, but no matrix crosses devices per token).
  void place(const std::vector<at::Device>& layer_devices, at::Device head_device, at::ScalarType dtype);
};

ModelWeights load_gguf_weights(const GgufFile& gguf, const ModelConfig& config);
ModelWeights load_hf_weights(const std::string& folder, const ModelConfig& config);
// Seeded N(0, 0.02) weights (norms = 1) for speed benchmarks of arbitrary shapes, made on `device`.
ModelWeights random_weights(const ModelConfig& config, uint64_t seed, at::Device device, at::ScalarType dtype);
// Layer split: each tensor made on its device (layer_devices as in ModelWeights::place), in the
// same order and from the same seed, so a split over CPU devices equals the single-device model.
// (Each CUDA device has its own generator, so a split over GPUs draws other values.)
ModelWeights random_weights(const ModelConfig& config, uint64_t seed, const std::vector<at::Device>& layer_devices,
                            at::Device head_device, at::ScalarType dtype);

// Inverse of llama.cpp's convert_hf_to_gguf permute() for q_proj/k_proj rows, which reorders
// each head's rows from HF's half-split layout to interleaved pairs. Input/output [n_head*head_dim, in].
at::Tensor unpermute_qk_rows(const at::Tensor& w, int64_t n_head);

}  // namespace claa
