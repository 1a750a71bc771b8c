// Shape and hyperparameters of a Llama-family decoder (Llama 2/3/3.1/3.2, Mistral, Qwen2, Qwen3,
// Phi-3, SmolLM2), read from an HF config.json or from GGUF metadata. Torch-free.
#pragma once

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
  std::string architecture = "llama";  // llama | mistral | qwen2 | qwen3 | phi3
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
  // Sliding-window attention: each query sees only the last `sliding_window` keys (Mistral v0.1,
  // Qwen2/3 with use_sliding_window). 0 = full causal attention. claa does not implement the window
  // yet: a model that has one runs only sequences the window covers (Transformer refuses longer).
  int64_t sliding_window = 0;
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
