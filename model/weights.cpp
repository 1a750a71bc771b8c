#include "model/weights.h"

#include <cstring>

#include "core/error.h"
#include "formats/dequant.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"

namespace claa {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void check_shape(const std::string& source, const std::string& name, const std::vector<int64_t>& got,
                 const std::vector<int64_t>& want) {
  require(got == want, source + ": tensor " + name + " has shape " + shape_str(got) + ", expected " + shape_str(want));
}

// ---- GGUF ----

at::Tensor gguf_tensor(const GgufFile& g, const std::string& name, const std::vector<int64_t>& want) {
  const GgufTensorInfo* info = g.find_tensor(name);
  require(info != nullptr, g.path() + ": missing tensor " + name);
  check_shape(g.path(), name, info->torch_shape(), want);
  at::Tensor t = at::empty(want, at::kFloat);
  dequantize(info->type, g.tensor_bytes(*info), info->numel(), t.data_ptr<float>());
  return t;
}

at::Tensor optional_gguf_tensor(const GgufFile& g, const std::string& name, const std::vector<int64_t>& want) {
  return g.find_tensor(name) ? gguf_tensor(g, name, want) : at::Tensor();
}

// ---- safetensors ----

at::Tensor st_tensor(const SafetensorsCheckpoint& ckpt, const std::string& folder, const std::string& name,
                     const std::vector<int64_t>& want) {
  const SafetensorsFile* f = ckpt.file_for(name);
  require(f != nullptr, folder + ": missing tensor " + name);
  const SafetensorsTensor* t = f->find(name);
  check_shape(f->path(), name, t->shape, want);
  std::string_view bytes = f->bytes(*t);
  at::ScalarType type;
  if (t->dtype == "F32")
    type = at::kFloat;
  else if (t->dtype == "F16")
    type = at::kHalf;
  else if (t->dtype == "BF16")
    type = at::kBFloat16;
  else
    throw Error(f->path() + ": tensor " + name + " has unsupported dtype " + t->dtype + " (F32/F16/BF16 only)");
  at::Tensor out = at::empty(want, type);
  std::memcpy(out.data_ptr(), bytes.data(), bytes.size());
  return out.to(at::kFloat);
}

// Phi-3's fused projections, as modeling_phi3.py keeps them (HF qkv_proj / gate_up_proj) and llama.cpp's
// converter writes them (attn_qkv / ffn_up): rows q | k | v, and gate | up (`gate, up = up_states.chunk(2)`).
void split_fused_qkv(const at::Tensor& qkv, int64_t q_out, int64_t kv_out, LayerWeights& l) {
  l.wq = qkv.narrow(0, 0, q_out).clone();
  l.wk = qkv.narrow(0, q_out, kv_out).clone();
  l.wv = qkv.narrow(0, q_out + kv_out, kv_out).clone();
}

void split_fused_gate_up(const at::Tensor& gate_up, int64_t ffn, LayerWeights& l) {
  l.w_gate = gate_up.narrow(0, 0, ffn).clone();
  l.w_up = gate_up.narrow(0, ffn, ffn).clone();
}

}  // namespace

at::Tensor unpermute_qk_rows(const at::Tensor& w, int64_t n_head) {
  int64_t rows = w.size(0);
  int64_t half = rows / n_head / 2;
  // GGUF row order per head is (pair i, element e) = HF row (e * half + i): swap the two axes back.
  return w.reshape({n_head, half, 2, -1}).transpose(1, 2).reshape(w.sizes()).contiguous();
}

void ModelWeights::to(at::Device device, at::ScalarType dtype) {
  auto move = [&](at::Tensor& t) {
    if (t.defined()) t = t.to(device, dtype).contiguous();
  };
  bool tied = lm_head.defined() && lm_head.is_same(embed);
  move(embed);
  move(final_norm);
  if (tied)
    lm_head = embed;
  else
    move(lm_head);
  if (rope_freq_factors.defined()) rope_freq_factors = rope_freq_factors.to(device, at::kFloat);
  for (LayerWeights& l : layers) {
    for (at::Tensor* t : l.tensors()) move(*t);
  }
}

void ModelWeights::place(const std::vector<at::Device>& layer_devices, at::Device head_device, at::ScalarType dtype) {
  require(layer_devices.size() == layers.size(), "weights: one device per layer is required");
  auto move = [&](at::Tensor& t, at::Device device) {
    if (t.defined()) t = t.to(device, dtype).contiguous();
  };
  const at::Device first = layer_devices.empty() ? head_device : layer_devices.front();
  bool tied = lm_head.defined() && lm_head.is_same(embed);
  move(embed, first);
  move(final_norm, head_device);
  if (tied)
    lm_head = embed.device() == head_device ? embed : embed.to(head_device);
  else
    move(lm_head, head_device);
  if (rope_freq_factors.defined()) rope_freq_factors = rope_freq_factors.to(at::kCPU, at::kFloat);
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerWeights& l = layers[i];
    for (at::Tensor* t : l.tensors()) move(*t, layer_devices[i]);
  }
}

ModelWeights load_gguf_weights(const GgufFile& g, const ModelConfig& c) {
  ModelWeights w;
  const int64_t D = c.hidden, q_out = c.n_heads * c.head_dim, kv_out = c.n_kv_heads * c.head_dim;
  w.embed = gguf_tensor(g, "token_embd.weight", {c.vocab, D});
  // Gemma's norms are stored as 1 + w already (convert_hf_to_gguf.py Gemma2Model / Gemma3Model.modify_tensors
  // add 1 to every "*norm.weight"), the effective scale load_hf_weights computes: taken as they are.
  w.final_norm = gguf_tensor(g, "output_norm.weight", {D});
  w.lm_head = c.tied_embeddings ? w.embed : gguf_tensor(g, "output.weight", {c.vocab, D});
  w.rope_freq_factors = optional_gguf_tensor(g, "rope_freqs.weight", {c.head_dim / 2});
  // llama.cpp permutes Q/K rows only for the llama architecture (Mistral is written as llama);
  // Qwen2, Qwen3, Phi-3 and Gemma use NEOX rope in llama.cpp and are stored unpermuted.
  bool permuted = g.get_string("general.architecture") == "llama";
  // Only Phi-3's converter fuses projections (attn_qkv, ffn_up with the gate rows): other architectures
  // need their separate tensors, so a file missing ffn_gate says so.
  const bool fused = c.architecture == "phi3";
  for (int64_t i = 0; i < c.n_layers; ++i) {
    std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights l;
    l.attn_norm = gguf_tensor(g, p + "attn_norm.weight", {D});
    l.ffn_norm = gguf_tensor(g, p + "ffn_norm.weight", {D});
    if (c.sandwich_norms) {  // Gemma (gguf TensorNameMap): post_attention_layernorm → post_attention_norm,
                             // pre_feedforward_layernorm → ffn_norm, post_feedforward_layernorm → post_ffw_norm
      l.post_attn_norm = gguf_tensor(g, p + "post_attention_norm.weight", {D});
      l.post_ffn_norm = gguf_tensor(g, p + "post_ffw_norm.weight", {D});
    }
    require(g.find_tensor(p + "attn_qkv.bias") == nullptr,
            g.path() + ": tensor " + p + "attn_qkv.bias (a fused q/k/v bias) is not supported");
    if (fused && g.find_tensor(p + "attn_qkv.weight") != nullptr) {
      // Phi-3: the converter keeps HF's fused qkv_proj as attn_qkv (rows q | k | v), as llama.cpp's phi3 reads it.
      split_fused_qkv(gguf_tensor(g, p + "attn_qkv.weight", {q_out + 2 * kv_out, D}), q_out, kv_out, l);
    } else {
      l.wq = gguf_tensor(g, p + "attn_q.weight", {q_out, D});
      l.wk = gguf_tensor(g, p + "attn_k.weight", {kv_out, D});
      l.wv = gguf_tensor(g, p + "attn_v.weight", {kv_out, D});
    }
    l.wo = gguf_tensor(g, p + "attn_output.weight", {D, q_out});
    if (c.qkv_bias) {
      l.bq = gguf_tensor(g, p + "attn_q.bias", {q_out});
      l.bk = gguf_tensor(g, p + "attn_k.bias", {kv_out});
      l.bv = gguf_tensor(g, p + "attn_v.bias", {kv_out});
    }
    if (c.qk_norm) {  // per-head weights: no row permutation applies to them
      l.q_norm = gguf_tensor(g, p + "attn_q_norm.weight", {c.head_dim});
      l.k_norm = gguf_tensor(g, p + "attn_k_norm.weight", {c.head_dim});
    }
    if (permuted) {
      l.wq = unpermute_qk_rows(l.wq, c.n_heads);
      l.wk = unpermute_qk_rows(l.wk, c.n_kv_heads);
      if (l.bq.defined()) {
        l.bq = unpermute_qk_rows(l.bq.unsqueeze(1), c.n_heads).squeeze(1);
        l.bk = unpermute_qk_rows(l.bk.unsqueeze(1), c.n_kv_heads).squeeze(1);
      }
    }
    if (!fused || g.find_tensor(p + "ffn_gate.weight") != nullptr) {
      l.w_gate = gguf_tensor(g, p + "ffn_gate.weight", {c.ffn, D});
      l.w_up = gguf_tensor(g, p + "ffn_up.weight", {c.ffn, D});
    } else {
      // Phi-3: HF's fused gate_up_proj is written as ffn_up with 2·ffn rows, gate first (llama.cpp's
      // LLM_FFN_SWIGLU splits it the same way as Phi3MLP's chunk(2)).
      split_fused_gate_up(gguf_tensor(g, p + "ffn_up.weight", {2 * c.ffn, D}), c.ffn, l);
    }
    l.w_down = gguf_tensor(g, p + "ffn_down.weight", {D, c.ffn});
    w.layers.push_back(std::move(l));
  }
  return w;
}

namespace {

// Where the decoder's tensors sit in the checkpoint: "model." for a causal LM; a multimodal Gemma 3
// keeps its language model under "language_model.model." (or "model.language_model." as transformers 5
// saves it).
std::string decoder_prefix(const SafetensorsCheckpoint& ckpt, const std::string& folder) {
  for (const char* prefix : {"model.", "language_model.model.", "model.language_model."})
    if (ckpt.file_for(std::string(prefix) + "embed_tokens.weight") != nullptr) return prefix;
  throw Error(folder + ": missing tensor model.embed_tokens.weight");
}

}  // namespace

ModelWeights load_hf_weights(const std::string& folder, const ModelConfig& c) {
  SafetensorsCheckpoint ckpt(folder);
  // Gemma's RMSNorm scales by (1 + w) (Gemma3RMSNorm): stored here as the effective scale, so every norm
  // runs the Llama formula (in fp32 the two agree exactly; in bf16 Gemma rounds once after the product).
  auto get = [&](const std::string& name, const std::vector<int64_t>& shape) {
    return st_tensor(ckpt, folder, name, shape);
  };
  auto norm = [&](const std::string& name, int64_t size) {
    at::Tensor t = get(name, {size});
    return c.norm_plus_one ? t.add(1.0) : t;
  };
  ModelWeights w;
  const int64_t D = c.hidden, q_out = c.n_heads * c.head_dim, kv_out = c.n_kv_heads * c.head_dim;
  const std::string m = decoder_prefix(ckpt, folder);
  w.embed = get(m + "embed_tokens.weight", {c.vocab, D});
  w.final_norm = norm(m + "norm.weight", D);
  const std::string head = ckpt.file_for("lm_head.weight") != nullptr                  ? "lm_head.weight"
                           : ckpt.file_for("language_model.lm_head.weight") != nullptr ? "language_model.lm_head.weight"
                                                                                       : "";
  w.lm_head = (c.tied_embeddings || head.empty()) ? w.embed : get(head, {c.vocab, D});
  for (int64_t i = 0; i < c.n_layers; ++i) {
    std::string p = m + "layers." + std::to_string(i) + ".";
    LayerWeights l;
    l.attn_norm = norm(p + "input_layernorm.weight", D);
    if (c.sandwich_norms) {  // Gemma: post_attention_layernorm follows attention; the MLP has its own pair
      l.post_attn_norm = norm(p + "post_attention_layernorm.weight", D);
      l.ffn_norm = norm(p + "pre_feedforward_layernorm.weight", D);
      l.post_ffn_norm = norm(p + "post_feedforward_layernorm.weight", D);
    } else {
      l.ffn_norm = norm(p + "post_attention_layernorm.weight", D);
    }
    if (c.architecture == "phi3") {
      // Phi3Attention / Phi3MLP keep fused projections (modeling_phi3.py): qkv_proj rows are q | k | v,
      // gate_up_proj rows gate | up (`gate, up = up_states.chunk(2, dim=-1)`).
      split_fused_qkv(get(p + "self_attn.qkv_proj.weight", {q_out + 2 * kv_out, D}), q_out, kv_out, l);
      split_fused_gate_up(get(p + "mlp.gate_up_proj.weight", {2 * c.ffn, D}), c.ffn, l);
    } else {
      l.wq = get(p + "self_attn.q_proj.weight", {q_out, D});
      l.wk = get(p + "self_attn.k_proj.weight", {kv_out, D});
      l.wv = get(p + "self_attn.v_proj.weight", {kv_out, D});
      l.w_gate = get(p + "mlp.gate_proj.weight", {c.ffn, D});
      l.w_up = get(p + "mlp.up_proj.weight", {c.ffn, D});
    }
    l.wo = get(p + "self_attn.o_proj.weight", {D, q_out});
    if (c.qkv_bias) {
      l.bq = get(p + "self_attn.q_proj.bias", {q_out});
      l.bk = get(p + "self_attn.k_proj.bias", {kv_out});
      l.bv = get(p + "self_attn.v_proj.bias", {kv_out});
    }
    if (c.qk_norm) {
      l.q_norm = norm(p + "self_attn.q_norm.weight", c.head_dim);
      l.k_norm = norm(p + "self_attn.k_norm.weight", c.head_dim);
    }
    l.w_down = get(p + "mlp.down_proj.weight", {D, c.ffn});
    w.layers.push_back(std::move(l));
  }
  return w;
}

ModelWeights random_weights(const ModelConfig& c, uint64_t seed, at::Device device, at::ScalarType dtype) {
  return random_weights(c, seed, std::vector<at::Device>(static_cast<size_t>(c.n_layers), device), device, dtype);
}

ModelWeights random_weights(const ModelConfig& c, uint64_t seed, const std::vector<at::Device>& layer_devices,
                            at::Device head_device, at::ScalarType dtype) {
  // Generated directly on the target device: an 8B-shaped model would take minutes on the CPU
  // (and a 70B one fits only split over several GPUs).
  require(static_cast<int64_t>(layer_devices.size()) == c.n_layers, "random weights: one device per layer is required");
  at::manual_seed(seed);
  auto normal = [&](std::vector<int64_t> shape, at::Device device) {
    return at::randn(shape, at::TensorOptions().device(device).dtype(dtype)).mul_(0.02);
  };
  auto ones = [&](std::vector<int64_t> shape, at::Device device) {
    return at::ones(shape, at::TensorOptions().device(device).dtype(dtype));
  };
  const at::Device first = layer_devices.empty() ? head_device : layer_devices.front();
  const int64_t D = c.hidden, q_out = c.n_heads * c.head_dim, kv_out = c.n_kv_heads * c.head_dim;
  ModelWeights w;
  w.embed = normal({c.vocab, D}, first);
  w.final_norm = ones({D}, head_device);
  w.lm_head = c.tied_embeddings ? (first == head_device ? w.embed : w.embed.to(head_device))
                                : normal({c.vocab, D}, head_device);
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const at::Device d = layer_devices[static_cast<size_t>(i)];
    LayerWeights l;
    l.attn_norm = ones({D}, d);
    l.ffn_norm = ones({D}, d);
    if (c.sandwich_norms) {
      l.post_attn_norm = ones({D}, d);
      l.post_ffn_norm = ones({D}, d);
    }
    l.wq = normal({q_out, D}, d);
    l.wk = normal({kv_out, D}, d);
    l.wv = normal({kv_out, D}, d);
    l.wo = normal({D, q_out}, d);
    if (c.qkv_bias) {
      l.bq = normal({q_out}, d);
      l.bk = normal({kv_out}, d);
      l.bv = normal({kv_out}, d);
    }
    if (c.qk_norm) {
      l.q_norm = ones({c.head_dim}, d);
      l.k_norm = ones({c.head_dim}, d);
    }
    l.w_gate = normal({c.ffn, D}, d);
    l.w_up = normal({c.ffn, D}, d);
    l.w_down = normal({D, c.ffn}, d);
    w.layers.push_back(std::move(l));
  }
  return w;
}

}  // namespace claa
