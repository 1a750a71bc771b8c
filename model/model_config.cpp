#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "formats/dequant.h"
#include "formats/gguf.h"

namespace claa {

namespace {

using json = nlohmann::json;

int64_t int_field(const json& j, const char* key, const std::string& source) {
  require(j.contains(key) && j[key].is_number_integer(),
          source + ": config field '" + key + "' is missing or not an integer");
  return j[key].get<int64_t>();
}

template <typename T>
T field_or(const json& j, const char* key, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<T>();
}

// LongRoPE (HF _compute_longrope_parameters, Phi-3): short/long divisors of inv_freq and the
// attention factor, by default √(1 + ln(factor) / ln(original)) with factor = max positions / original.
void read_longrope(const json& j, const json& scaling, ModelConfig& c) {
  RopeScaling& r = c.rope_scaling;
  r.original_context = field_or<int64_t>(scaling, "original_max_position_embeddings",
                                         field_or<int64_t>(j, "original_max_position_embeddings", c.context));
  r.short_factor = field_or<std::vector<double>>(scaling, "short_factor", {});
  r.long_factor = field_or<std::vector<double>>(scaling, "long_factor", {});
  require(r.original_context > 0, "longrope: original_max_position_embeddings must be positive");
  r.factor =
      field_or<double>(scaling, "factor", static_cast<double>(c.context) / static_cast<double>(r.original_context));
  const double fallback =
      r.factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(r.factor) / std::log(static_cast<double>(r.original_context)));
  r.attention_factor = field_or<double>(scaling, "attention_factor", fallback);
}

// HF keeps rope parameters either flat (rope_theta, rope_scaling) or, since transformers 5,
// under "rope_parameters". Read both.
void read_rope(const json& j, ModelConfig& c) {
  const json* scaling = nullptr;
  // Gemma 3 keeps one parameter set per layer type; the sliding layers' differs only by its base
  // (rope_local_base_freq before transformers 5).
  const json* global = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object() &&
      j["rope_parameters"].contains("full_attention")) {
    global = &j["rope_parameters"]["full_attention"];
    const json local = j["rope_parameters"].value("sliding_attention", json::object());
    c.rope_local_theta = field_or<double>(local, "rope_theta", 0.0);
    require(field_or<std::string>(local, "rope_type", "default") == "default",
            "RoPE scaling on sliding-window layers is not supported");
  }
  c.rope_local_theta = field_or<double>(j, "rope_local_base_freq", c.rope_local_theta);
  if (global != nullptr) {
    c.rope_theta = field_or<double>(*global, "rope_theta", c.rope_theta);
    scaling = global;
  } else if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const json& p = j["rope_parameters"];
    c.rope_theta = field_or<double>(p, "rope_theta", c.rope_theta);
    scaling = &p;
  }
  c.rope_theta = field_or<double>(j, "rope_theta", c.rope_theta);
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) scaling = &j["rope_scaling"];
  if (scaling == nullptr) return;
  std::string type = field_or<std::string>(*scaling, "rope_type", field_or<std::string>(*scaling, "type", "default"));
  require(field_or<double>(*scaling, "partial_rotary_factor", field_or<double>(j, "partial_rotary_factor", 1.0)) == 1.0,
          "partial_rotary_factor below 1 (RoPE on part of each head) is not supported");
  if (type == "default") return;
  c.rope_scaling.type = type;
  if (type == "longrope") {
    read_longrope(j, *scaling, c);
    return;
  }
  c.rope_scaling.factor = field_or<double>(*scaling, "factor", 1.0);
  c.rope_scaling.low_freq_factor = field_or<double>(*scaling, "low_freq_factor", 1.0);
  c.rope_scaling.high_freq_factor = field_or<double>(*scaling, "high_freq_factor", 4.0);
  c.rope_scaling.original_context = field_or<int64_t>(*scaling, "original_max_position_embeddings", 8192);
}

// Which layers slide and by how much (HF masking_utils: sliding-window causal masks per layer type).
// transformers 5 writes `layer_types`; older configs imply them: Mistral and Phi-3 slide on every layer
// whenever `sliding_window` is set (Mistral v0.1: 4096, v0.3 and Nemo: null; Phi-3-mini-4k: 2047), Qwen2
// and Qwen3 only with use_sliding_window and from max_window_layers on, Gemma 2 on even layers, Gemma 3
// on all but every sixth. Other architectures ignore the field.
void read_sliding_window(const json& j, const std::string& model_type, ModelConfig& c) {
  const int64_t window =
      j.contains("sliding_window") && j["sliding_window"].is_number_integer() ? j["sliding_window"].get<int64_t>() : 0;
  const int64_t L = c.n_layers;
  std::vector<uint8_t> slides(static_cast<size_t>(std::max<int64_t>(L, 0)), 0);
  if (model_type == "qwen2" || model_type == "qwen3") {
    if (!field_or<bool>(j, "use_sliding_window", false)) return;
    for (int64_t l = std::max<int64_t>(0, field_or<int64_t>(j, "max_window_layers", L)); l < L; ++l) slides[l] = 1;
  } else if (j.contains("layer_types") && j["layer_types"].is_array()) {
    const json& types = j["layer_types"];
    require(static_cast<int64_t>(types.size()) == L, "layer_types must name one type per layer");
    for (int64_t l = 0; l < L; ++l) slides[l] = types[l].get<std::string>() == "sliding_attention";
  } else if (model_type == "mistral" || model_type == "phi3") {
    std::fill(slides.begin(), slides.end(), 1);
  } else if (model_type == "gemma2") {
    for (int64_t l = 0; l < L; l += 2) slides[l] = 1;
  } else if (model_type == "gemma3_text") {
    const int64_t pattern = std::max<int64_t>(1, field_or<int64_t>(j, "sliding_window_pattern", 6));
    for (int64_t l = 0; l < L; ++l) slides[l] = (l + 1) % pattern != 0;
  } else {
    return;
  }
  if (window <= 0 || std::find(slides.begin(), slides.end(), 1) == slides.end()) return;
  c.sliding_window = window;
  c.sliding_layers = std::move(slides);
}

// Gemma 2 / 3: scaled embeddings, (1 + w) norms around attention and MLP, GeGLU, the attention scale
// query_pre_attn_scalar^−½, soft-capping (Gemma 2) and tied embeddings by default.
// What every Gemma 2 / 3 is, whatever file it comes from: embeddings scaled by √hidden, sandwich norms
// with (1 + w), GeGLU.
void set_gemma_architecture(ModelConfig& c) {
  c.embed_multiplier = std::sqrt(static_cast<double>(c.hidden));
  c.sandwich_norms = true;
  c.norm_plus_one = true;
  c.activation = "gelu_tanh";
}

void read_gemma(const json& j, ModelConfig& c) {
  const std::string act =
      field_or<std::string>(j, "hidden_activation", field_or<std::string>(j, "hidden_act", "gelu_pytorch_tanh"));
  require(act == "gelu_pytorch_tanh" || act == "gelu_tanh", "unsupported Gemma activation '" + act + "'");
  set_gemma_architecture(c);
  c.query_scale = 1.0 / std::sqrt(field_or<double>(j, "query_pre_attn_scalar", static_cast<double>(c.head_dim)));
  c.attn_softcap = field_or<double>(j, "attn_logit_softcapping", 0.0);
  c.final_softcap = field_or<double>(j, "final_logit_softcapping", 0.0);
  c.rms_eps = field_or<double>(j, "rms_norm_eps", 1e-6);
  c.tied_embeddings = field_or<bool>(j, "tie_word_embeddings", true);
}

std::vector<int64_t> eos_list(const json& j) {
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return {};
  if (j["eos_token_id"].is_array()) return j["eos_token_id"].get<std::vector<int64_t>>();
  return {j["eos_token_id"].get<int64_t>()};
}

}  // namespace

int64_t ModelConfig::parameter_count() const {
  int64_t attn = hidden * n_heads * head_dim * 2 + hidden * n_kv_heads * head_dim * 2;
  int64_t mlp = 3 * hidden * ffn;
  int64_t per_layer = attn + mlp + 2 * hidden + (qk_norm ? 2 * head_dim : 0);
  return n_layers * per_layer + vocab * hidden * (tied_embeddings ? 1 : 2) + hidden;
}

void ModelConfig::validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* name) {
    require(v > 0, source + ": model " + name + " must be positive (got " + std::to_string(v) + ")");
  };
  positive(n_layers, "layer count");
  positive(hidden, "hidden size");
  positive(n_heads, "head count");
  positive(n_kv_heads, "KV head count");
  positive(head_dim, "head dim");
  positive(ffn, "FFN size");
  positive(vocab, "vocab size");
  positive(context, "context length");
  require(n_heads % n_kv_heads == 0, source + ": head count " + std::to_string(n_heads) +
                                         " is not a multiple of the KV head count " + std::to_string(n_kv_heads));
  require(head_dim % 2 == 0, source + ": head dim must be even for RoPE");
  require(architecture == "llama" || architecture == "mistral" || architecture == "qwen2" || architecture == "qwen3" ||
              architecture == "phi3" || architecture == "gemma2" || architecture == "gemma3_text",
          source + ": unsupported architecture '" + architecture +
              "' (llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3_text are supported)");
  require(sliding_window >= 0, source + ": sliding window must not be negative");
  require(sliding_layers.empty() || static_cast<int64_t>(sliding_layers.size()) == n_layers,
          source + ": one sliding-window flag per layer is required");
  require(query_scale >= 0 && attn_softcap >= 0 && final_softcap >= 0 && embed_multiplier > 0,
          source + ": attention scale, soft-caps and embedding multiplier must not be negative");
  require(rope_scaling.type == "none" || rope_scaling.type == "llama3" || rope_scaling.type == "linear" ||
              rope_scaling.type == "longrope",
          source + ": unsupported rope_scaling type '" + rope_scaling.type + "'");
  if (rope_scaling.type == "longrope") {
    const size_t half = static_cast<size_t>(head_dim / 2);
    require(rope_scaling.short_factor.size() == half && rope_scaling.long_factor.size() == half,
            source + ": longrope short_factor and long_factor need head_dim / 2 = " + std::to_string(half) +
                " values each");
  }
}

namespace {
std::string fmt_double(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

std::vector<std::string> ModelConfig::features() const {
  std::vector<std::string> f;
  if (qkv_bias) f.push_back("q/k/v biases");
  if (qk_norm) f.push_back("q/k RMSNorm per head");
  if (tied_embeddings) f.push_back("tied embeddings");
  if (architecture == "phi3") f.push_back("fused qkv_proj and gate_up_proj in the checkpoint");
  if (head_dim * n_heads != hidden) f.push_back("head_dim " + std::to_string(head_dim) + " != hidden / heads");
  if (rope_scaling.type == "longrope")
    f.push_back("rope scaling longrope (original context " + std::to_string(rope_scaling.original_context) +
                ", attention factor " + std::to_string(rope_scaling.attention_factor) + ")");
  else if (rope_scaling.type != "none")
    f.push_back("rope scaling " + rope_scaling.type);
  if (sliding_window > 0) {
    int64_t n = 0;
    for (uint8_t v : sliding_layers) n += v;
    f.push_back("sliding window " + std::to_string(sliding_window) + " on " + std::to_string(n) + " of " +
                std::to_string(n_layers) + " layers" +
                (rope_local_theta > 0 ? " (RoPE base " + fmt_double(rope_local_theta) + " there)" : ""));
  }
  if (embed_multiplier != 1.0) f.push_back("embeddings scaled by sqrt(hidden)");
  if (sandwich_norms) f.push_back("norms before and after attention and MLP");
  if (norm_plus_one) f.push_back("RMSNorm scale (1 + w)");
  if (activation != "silu") f.push_back("MLP activation " + activation);
  if (query_scale > 0 && std::abs(query_scale * std::sqrt(double(head_dim)) - 1.0) > 1e-12)
    f.push_back("attention scale " + fmt_double(query_scale) + " (query_pre_attn_scalar)");
  if (attn_softcap > 0) f.push_back("attention logit soft-cap " + fmt_double(attn_softcap));
  if (final_softcap > 0) f.push_back("final logit soft-cap " + fmt_double(final_softcap));
  return f;
}

ModelConfig ModelConfig::from_hf_json(const json& j_in, const std::string& source) {
  require(j_in.is_object(), source + ": config is not a JSON object");
  // A multimodal Gemma 3 checkpoint (Gemma3ForConditionalGeneration, 4B and larger): its language model
  // is a gemma3_text model under text_config (weights: see load_hf_weights).
  const bool multimodal_gemma3 =
      field_or<std::string>(j_in, "model_type", "") == "gemma3" && j_in.contains("text_config");
  const json& j = multimodal_gemma3 ? j_in["text_config"] : j_in;
  ModelConfig c;
  std::string model_type = multimodal_gemma3 ? "gemma3_text" : field_or<std::string>(j, "model_type", "llama");
  c.architecture = model_type;
  c.hidden = int_field(j, "hidden_size", source);
  c.n_layers = int_field(j, "num_hidden_layers", source);
  c.n_heads = int_field(j, "num_attention_heads", source);
  c.n_kv_heads = field_or<int64_t>(j, "num_key_value_heads", c.n_heads);
  c.head_dim = field_or<int64_t>(j, "head_dim", c.n_heads > 0 ? c.hidden / c.n_heads : 0);
  c.ffn = int_field(j, "intermediate_size", source);
  c.vocab = int_field(j, "vocab_size", source);
  c.context = field_or<int64_t>(j, "max_position_embeddings", 4096);
  c.rms_eps = field_or<double>(j, "rms_norm_eps", 1e-5);
  c.tied_embeddings = field_or<bool>(j, "tie_word_embeddings", false);
  // Qwen2 always has q/k/v biases; Llama and Qwen3 expose it as attention_bias.
  c.qkv_bias = model_type == "qwen2" ? true : field_or<bool>(j, "attention_bias", false);
  // Qwen3Attention: q_norm / k_norm (RMSNorm over head_dim) on every layer (modeling_qwen3.py).
  c.qk_norm = model_type == "qwen3" || model_type == "gemma3_text";
  if (model_type == "gemma2" || model_type == "gemma3_text") read_gemma(j, c);
  read_sliding_window(j, model_type, c);
  c.bos_id = field_or<int64_t>(j, "bos_token_id", -1);
  c.eos_ids = eos_list(j);
  read_rope(j, c);
  c.validate(source);
  return c;
}

ModelConfig ModelConfig::from_hf_file(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), path + ": cannot open");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw Error(path + ": malformed JSON (" + e.what() + ")");
  }
  try {
    return from_hf_json(j, path);
  } catch (const json::exception& e) {
    throw Error(path + ": bad field type (" + e.what() + ")");
  }
}

namespace {

// The GGUF architectures claa reads: llama.cpp's name → claa's (HF's model_type). Mistral is written as
// "llama" by llama.cpp's converter; Gemma 3's text model is "gemma3" there and gemma3_text in HF.
std::string claa_architecture(const GgufFile& g, const std::string& arch) {
  if (arch == "llama" || arch == "qwen2" || arch == "qwen3" || arch == "phi3" || arch == "gemma2") return arch;
  if (arch == "gemma3") return "gemma3_text";
  throw Error(g.path() + ": GGUF architecture '" + arch +
              "' is not supported (llama, qwen2, qwen3, phi3, gemma2 and gemma3 are)");
}

// A float the file may carry: `fallback` when absent, else the value, which must be finite and positive
// (a corrupt base, factor or cap gives this one-line error rather than silently wrong logits).
double gguf_positive(const GgufFile& g, const std::string& key, double fallback) {
  if (!g.has(key)) return fallback;
  const double v = g.get_float(key);
  require(std::isfinite(v) && v > 0,
          g.path() + ": " + key + " must be finite and positive (got " + fmt_double(v) + ")");
  return v;
}

std::vector<double> gguf_vector(const GgufFile& g, const std::string& name, int64_t n) {
  const GgufTensorInfo* info = g.find_tensor(name);
  require(info != nullptr, g.path() + ": missing tensor " + name);
  require(info->numel() == n, g.path() + ": tensor " + name + " has " + std::to_string(info->numel()) +
                                  " values, expected " + std::to_string(n));
  std::vector<float> values(static_cast<size_t>(n));
  dequantize(info->type, g.tensor_bytes(*info), n, values.data());
  return {values.begin(), values.end()};
}

// RoPE scaling as llama.cpp's converter writes it. Linear (Gemma 3's global layers; TextModel.set_gguf_parameters):
// rope.scaling.type / factor. LongRoPE (Phi-3; Phi3MiniModel.generate_extra_tensors): the per-frequency
// divisors as the tensors rope_factors_short / rope_factors_long, rope.scaling.original_context_length and
// rope.scaling.attn_factor. Llama 3.1's scaling is a precomputed rope_freqs tensor (see load_gguf_weights).
void read_gguf_rope(const GgufFile& g, const std::string& arch, ModelConfig& c) {
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };
  const std::string type = g.get_string(key("rope.scaling.type"), "none");
  RopeScaling& r = c.rope_scaling;
  if (g.find_tensor("rope_factors_long.weight") != nullptr) {
    require(type == "none" || type == "longrope",
            g.path() + ": rope_factors_long with rope.scaling.type '" + type + "' is not supported");
    r.type = "longrope";
    r.long_factor = gguf_vector(g, "rope_factors_long.weight", c.head_dim / 2);
    r.short_factor = gguf_vector(g, "rope_factors_short.weight", c.head_dim / 2);
    for (const auto& [name, factors] :
         {std::pair{"rope_factors_long", &r.long_factor}, std::pair{"rope_factors_short", &r.short_factor}})
      for (double f : *factors)
        require(std::isfinite(f) && f > 0, g.path() + ": tensor " + name +
                                               ".weight must hold finite positive RoPE divisors (got " + fmt_double(f) +
                                               ")");
    r.original_context = g.get_int(key("rope.scaling.original_context_length"), c.context);
    require(r.original_context > 0, g.path() + ": rope.scaling.original_context_length must be positive");
    r.factor = static_cast<double>(c.context) / static_cast<double>(r.original_context);
    // The converter computes HF's default √(1 + ln(factor) / ln(original)) and stores it as float32; where
    // the stored value is that formula to float precision, keep the formula's double, as the HF folder does.
    const double formula =
        r.factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(r.factor) / std::log(static_cast<double>(r.original_context)));
    const double stored = gguf_positive(g, key("rope.scaling.attn_factor"), formula);
    r.attention_factor = std::abs(stored - formula) <= 1e-6 * formula ? formula : stored;
    return;
  }
  if (type == "none") return;
  require(type == "linear", g.path() + ": rope.scaling.type '" + type + "' is not supported (none, linear)");
  r.type = "linear";
  require(g.has(key("rope.scaling.factor")), g.path() + ": missing " + key("rope.scaling.factor"));
  r.factor = gguf_positive(g, key("rope.scaling.factor"), 1.0);
}

// Which layers slide. Phi-3 follows HF, not llama.cpp: the window on every layer when
// attention.sliding_window > 0 (the converter writes 0 for a null window; no key: full attention), as
// Phi3Attention does with config.sliding_window; llama.cpp reads the key but runs Phi-3 with full attention
// ("Phi SWA is currently disabled", llama.cpp PR #13676), so a Phi-3-mini-4k file (window 2047) differs
// from llama.cpp beyond 2047 tokens. Gemma follows llama.cpp, which keeps the pattern in code, not in the
// file (llama-model.cpp load_hparams): Gemma 2 on every other layer (set_swa_pattern(2), window 4096 when
// the key is absent), Gemma 3 on five of six (set_swa_pattern(6); no window, no sliding). A Gemma file that
// carries attention.sliding_window_pattern as one flag per layer (true = sliding, as llama.cpp reads it for
// Gemma 4) overrides the pattern.
void read_gguf_sliding_window(const GgufFile& g, const std::string& arch, ModelConfig& c) {
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };
  const int64_t L = c.n_layers;
  std::vector<uint8_t> slides(static_cast<size_t>(std::max<int64_t>(L, 0)), 0);
  int64_t window = g.get_int(key("attention.sliding_window"), arch == "gemma2" ? 4096 : 0);
  if (arch == "phi3") {
    std::fill(slides.begin(), slides.end(), 1);
  } else if (arch == "gemma2" || arch == "gemma3") {
    const std::string pattern_key = key("attention.sliding_window_pattern");
    if (g.has(pattern_key)) {
      require(g.get(pattern_key).type == GgufValueType::ARRAY,
              g.path() + ": " + pattern_key + " is supported as one flag per layer only");
      const std::vector<int64_t> flags = g.get_int_array(pattern_key);
      require(static_cast<int64_t>(flags.size()) == L, g.path() + ": " + pattern_key + " needs one flag per layer");
      for (int64_t l = 0; l < L; ++l) slides[static_cast<size_t>(l)] = flags[static_cast<size_t>(l)] != 0;
    } else {
      // llama_hparams::set_swa_pattern(n): layer l slides unless l % n == n − 1.
      const int64_t period = arch == "gemma2" ? 2 : 6;
      for (int64_t l = 0; l < L; ++l) slides[static_cast<size_t>(l)] = l % period < period - 1;
    }
  } else {
    // llama / qwen2 / qwen3: keep the window as read (llama.cpp's converter writes none for these).
    c.sliding_window = window;
    return;
  }
  if (window <= 0 || std::find(slides.begin(), slides.end(), 1) == slides.end()) return;
  c.sliding_window = window;
  c.sliding_layers = std::move(slides);
}

// Gemma 2 / 3 from GGUF: the same model as read_gemma, with what llama.cpp keeps in code rather than in
// the file. Scaled embeddings, sandwich norms, (1 + w) norms and GeGLU are fixed by the architecture (the
// 1 is already in the stored norms: Gemma2Model / Gemma3Model.modify_tensors add it, so load_gguf_weights
// takes them as they are). Soft-caps: the file's keys, else llama.cpp's defaults (Gemma 2: 50 / 30,
// Gemma 3: none). The attention scale: neither converter writes query_pre_attn_scalar; llama.cpp
// derives it from the model size (llama-model.cpp after gemma_pytorch config.py: (hidden / heads)^−½ for
// the 27B models, 46 layers in Gemma 2 and 62 in Gemma 3, head_dim^−½ otherwise), which is what every
// released Gemma 2 / 3 checkpoint sets. claa takes {arch}.attention.scale when the file carries it (GGUF's
// key for the q·k scale) and llama.cpp's rule otherwise (docs/method.md §6).
void read_gguf_gemma(const GgufFile& g, const std::string& arch, ModelConfig& c) {
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };
  set_gemma_architecture(c);
  const bool is_27b = c.n_layers == (arch == "gemma2" ? 46 : 62);
  const double derived = is_27b ? 1.0 / std::sqrt(static_cast<double>(c.hidden / c.n_heads))
                                : 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  c.query_scale = gguf_positive(g, key("attention.scale"), derived);
  c.attn_softcap = gguf_positive(g, key("attn_logit_softcapping"), arch == "gemma2" ? 50.0 : 0.0);
  c.final_softcap = gguf_positive(g, key("final_logit_softcapping"), arch == "gemma2" ? 30.0 : 0.0);
  if (arch == "gemma3") {
    // llama.cpp hard-codes the sliding layers' base (rope_freq_base_train_swa = 10000); newer converters
    // also write it as rope.freq_base_swa.
    c.rope_local_theta = gguf_positive(g, key("rope.freq_base_swa"), 10000.0);
  }
}

}  // namespace

ModelConfig ModelConfig::from_gguf(const GgufFile& g) {
  ModelConfig c;
  std::string arch = g.get_string("general.architecture");
  require(!arch.empty(), g.path() + ": missing general.architecture");
  c.architecture = claa_architecture(g, arch);
  auto key = [&](const std::string& suffix) { return arch + "." + suffix; };
  c.n_layers = g.get_int(key("block_count"));
  c.hidden = g.get_int(key("embedding_length"));
  c.n_heads = g.get_int(key("attention.head_count"));
  c.n_kv_heads = g.get_int(key("attention.head_count_kv"), c.n_heads);
  c.head_dim = g.get_int(key("attention.key_length"), c.n_heads > 0 ? c.hidden / c.n_heads : 0);
  // Phi-3's converter writes rope.dimension_count = partial_rotary_factor · head_dim; claa rotates whole heads.
  require(g.get_int(key("rope.dimension_count"), c.head_dim) == c.head_dim,
          g.path() + ": rope.dimension_count below the head dim (RoPE on part of each head) is not supported");
  c.ffn = g.get_int(key("feed_forward_length"));
  c.context = g.get_int(key("context_length"), 4096);
  c.rope_theta = gguf_positive(g, key("rope.freq_base"), 10000.0);
  c.rms_eps = g.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5);
  const GgufTensorInfo* embed = g.find_tensor("token_embd.weight");
  require(embed != nullptr, g.path() + ": missing tensor token_embd.weight");
  c.vocab = g.get_int(key("vocab_size"), embed->ne.size() == 2 ? embed->ne[1] : 0);
  c.tied_embeddings = g.find_tensor("output.weight") == nullptr;
  c.qkv_bias = g.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.qk_norm = g.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  c.validate(g.path());  // the shapes first: what follows divides by them
  // A plausible layer count before anything is sized by it (a corrupt block_count would allocate per layer).
  const std::string last_norm = "blk." + std::to_string(c.n_layers - 1) + ".attn_norm.weight";
  require(g.find_tensor(last_norm) != nullptr, g.path() + ": " + key("block_count") + " is " +
                                                   std::to_string(c.n_layers) + " but the file has no tensor " +
                                                   last_norm);
  read_gguf_sliding_window(g, arch, c);
  if (arch == "gemma2" || arch == "gemma3") read_gguf_gemma(g, arch, c);
  read_gguf_rope(g, arch, c);
  c.bos_id = g.get_int("tokenizer.ggml.bos_token_id", -1);
  if (g.has("tokenizer.ggml.eos_token_id")) c.eos_ids.push_back(g.get_int("tokenizer.ggml.eos_token_id"));
  if (g.has("tokenizer.ggml.eot_token_id")) {
    int64_t eot = g.get_int("tokenizer.ggml.eot_token_id");
    if (c.eos_ids.empty() || c.eos_ids[0] != eot) c.eos_ids.push_back(eot);
  }
  c.validate(g.path());
  return c;
}

}  // namespace claa
