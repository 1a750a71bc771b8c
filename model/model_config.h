// Shape and hyperparameters of a Llama-family decoder (Llama 2/3/3.1/3.2, Mistral, Qwen2, Qwen3,
// Phi-3, Gemma 2/3, SmolLM2), read from an HF config.json or from GGUF metadata. Torch-free.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace claa {

class GgufFile;

struct RopeScaling {
  std::string type = "none";  // "none" | "llama3" | "linear" | "longrope"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_context = 8192;
  // LongRoPE (Phi-3): per-frequency divisors of inv_freq, the short ones for sequences up to
  // original_context and the long ones beyond, and the factor cos and sin are scaled by.
  std::vector<double> short_factor, long_factor;
  double attention_factor = 1.0;
};

struct ModelConfig {
  std::string architecture = "llama";  // llama | mistral | qwen2 | qwen3 | phi3 | gemma2 | gemma3_text
  int64_t n_layers = 0;
  int64_t hidden = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t ffn = 0;
  int64_t vocab = 0;
  int64_t context = 0;
  double rope_theta = 10000.0;
  double rms_eps = 1e-5;
  bool tied_embeddings = false;
  bool qkv_bias = false;
  // Per-head RMSNorm of queries and keys before RoPE (Qwen3: q_norm / k_norm over head_dim).
  bool qk_norm = false;
  // Sliding-window attention: on the layers flagged in sliding_layers each query sees only the keys
  // less than `sliding_window` positions back (HF masking_utils sliding_window_overlay). Mistral v0.1,
  // Phi-3: every layer; Qwen2/3 with use_sliding_window: from max_window_layers on; Gemma 2: every other
  // layer; Gemma 3: five of six. 0 / empty = full causal attention everywhere.
  int64_t sliding_window = 0;
  std::vector<uint8_t> sliding_layers;
  // Gemma 2 / 3 (modeling_gemma2.py, modeling_gemma3.py):
  double embed_multiplier = 1.0;    // embeddings × √hidden (rounded to the compute dtype, as HF)
  bool sandwich_norms = false;      // RMSNorm also after attention and after the MLP, before each residual add
  bool norm_plus_one = false;       // RMSNorm scales by (1 + w): folded into the weights when they load
                                    // (a GGUF's norms hold 1 + w already: llama.cpp's converter adds it)
  std::string activation = "silu";  // MLP gate activation: "silu" | "gelu_tanh"
  double query_scale = 0;           // attention scale; 0 = 1/√head_dim (Gemma: query_pre_attn_scalar^−½)
  double attn_softcap = 0;          // attention logits → cap·tanh(logits / cap) (Gemma 2); 0 = none
  double final_softcap = 0;         // the same on the LM head's logits (Gemma 2)
  double rope_local_theta = 0;      // RoPE base of the sliding layers (Gemma 3); 0 = rope_theta

  bool layer_slides(int64_t layer) const {
    return sliding_window > 0 && layer < static_cast<int64_t>(sliding_layers.size()) && sliding_layers[layer] != 0;
  }
  // The sliding window a layer's attention applies to T new tokens after `past` cached ones: the
  // window on sliding layers once past + T exceeds it, else 0 (plain causal attention).
  int64_t attention_window(int64_t layer, int64_t past, int64_t T) const {
    return layer_slides(layer) && past + T > sliding_window ? sliding_window : 0;
  }
  double attention_scale() const { return query_scale > 0 ? query_scale : 1.0 / std::sqrt(double(head_dim)); }
  RopeScaling rope_scaling;
  int64_t bos_id = -1;
  std::vector<int64_t> eos_ids;

  int64_t group_size() const { return n_heads / n_kv_heads; }
  int64_t parameter_count() const;
  // The architecture's features in words ("q/k biases", "q/k norm", "tied embeddings", ...), for
  // `claa info` and run.json.
  std::vector<std::string> features() const;
  // Throws claa::Error naming the first inconsistent field.
  void validate(const std::string& source) const;

  static ModelConfig from_hf_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig from_hf_file(const std::string& config_json_path);
  static ModelConfig from_gguf(const GgufFile& gguf);
};

}  // namespace claa
