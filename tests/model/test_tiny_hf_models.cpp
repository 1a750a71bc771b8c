// HF-folder loading (config.json + safetensors, sharded or not; bf16/fp16/fp32) and the
// architecture variants: Llama-3.1 rope_scaling "llama3", Qwen2 q/k/v biases with tied
// embeddings, Mistral, Qwen3 (per-head q/k RMSNorm, head_dim ≠ hidden / heads), Phi-3 (fused
// projections, LongRoPE at both lengths), Gemma 2 and 3 (sliding windows shorter than the prompt,
// soft-caps, attention scale, per-layer RoPE bases; Gemma 3's weights also in a multimodal checkpoint's
// layout, language_model.model.*); all but Llama-3.1 and Qwen2 also from GGUF files laid out as llama.cpp's
// converter writes them (tools/tiny_to_gguf.py). Reference: HF transformers' own fp32 outputs
// (tools/make_tiny_models.py).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/generate.h"
#include "model/model_loader.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

TEST_CASE("Tiny HF models match transformers logits and greedy tokens", "[model][hf]") {
  const nlohmann::json ref = tiny_model_reference();
  // Model path under tests/fixtures/model/tiny/ → the HF folder whose outputs it must reproduce: the
  // GGUF files are the same fp32 weights written by tools/tiny_to_gguf.py (gguf's own tensor names and
  // the converter's transforms: llama.cpp's Q/K permutation for the llama architecture, Phi-3's fused
  // projections and LongRoPE factor tensors, Gemma's norms stored as 1 + w).
  const std::vector<std::pair<std::string, std::string>> models = {{"llama3", "llama3"},
                                                                   {"qwen2", "qwen2"},
                                                                   {"mistral", "mistral"},
                                                                   {"mistral.gguf", "mistral"},
                                                                   {"qwen3", "qwen3"},
                                                                   {"qwen3.gguf", "qwen3"},
                                                                   {"phi3", "phi3"},
                                                                   {"phi3.gguf", "phi3"},
                                                                   {"gemma2", "gemma2"},
                                                                   {"gemma2.gguf", "gemma2"},
                                                                   {"gemma3", "gemma3"},
                                                                   {"gemma3.gguf", "gemma3"},
                                                                   {"gemma3_multimodal", "gemma3"}};
  for (const auto& [path, kind] : models) {
    INFO("model " << path);
    const nlohmann::json& e = ref[kind];
    claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/") + path, claa::RuntimeOptions{});
    // Inverse RoPE frequencies (checks llama3 scaling).
    std::vector<double> want = e["inv_freq"].get<std::vector<double>>();
    at::Tensor inv = claa::rope_inv_freq(m.config).to(at::kDouble);
    REQUIRE(inv.numel() == static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) CHECK(inv[i].item<double>() == Approx(want[i]).epsilon(1e-6));
    // What the loaded model hands to taps and statistics as its rotation (Transformer::rope_frequencies):
    // the full-attention layers' (HF's full_attention_inv_freq), even where layer 0 slides (Gemma 3).
    const at::Tensor handed = m.model->rope_frequencies().to(at::kDouble);
    for (size_t i = 0; i < want.size(); ++i) CHECK(handed[i].item<double>() == Approx(want[i]).epsilon(1e-6));
    if (e.contains("inv_freq_long")) {  // LongRoPE: the long factors beyond the original context
      CHECK(m.config.rope_scaling.attention_factor == Approx(e["attention_factor"].get<double>()).epsilon(1e-12));
      const std::vector<double> want_long = e["inv_freq_long"].get<std::vector<double>>();
      const at::Tensor inv_long =
          claa::rope_inv_freq(m.config, m.config.rope_scaling.original_context + 1).to(at::kDouble);
      for (size_t i = 0; i < want_long.size(); ++i)
        CHECK(inv_long[i].item<double>() == Approx(want_long[i]).epsilon(1e-6));
      // A prompt within the original context rotates with the short factors.
      claa::GenerationOptions one;
      one.max_new_tokens = 1;
      const claa::GenerationResult short_run =
          claa::generate(*m.model, e["short_input_ids"].get<std::vector<int64_t>>(), one);
      const at::Tensor short_want = at::tensor(e["short_last_logits"].get<std::vector<double>>(), at::kDouble);
      CHECK((short_run.first_logits.to(at::kDouble) - short_want).abs().max().item<double>() <= 1e-4);
    }

    std::vector<int64_t> ids = e["input_ids"].get<std::vector<int64_t>>();
    claa::GenerationOptions options;
    options.max_new_tokens = static_cast<int64_t>(e["greedy_tokens"].size());
    claa::GenerationResult r = claa::generate(*m.model, ids, options);
    std::vector<double> logits = e["last_logits"].get<std::vector<double>>();
    double max_diff = 0;
    for (size_t i = 0; i < logits.size(); ++i)
      max_diff = std::max(max_diff, std::abs(r.first_logits[i].item<double>() - logits[i]));
    INFO("max |logit diff| = " << max_diff);
    CHECK(max_diff <= 1e-4);
    CHECK(r.tokens == e["greedy_tokens"].get<std::vector<int64_t>>());
  }
}

TEST_CASE("Qwen2 config turns on q/k/v biases and tied embeddings", "[model][hf]") {
  claa::LoadedModel m = claa::describe_model(source_path("tests/fixtures/model/tiny/qwen2"));
  CHECK(m.config.architecture == "qwen2");
  CHECK(m.config.qkv_bias);
  CHECK(m.config.tied_embeddings);
  CHECK(m.tensor_types == std::vector<std::string>{"F16"});
}

TEST_CASE("Qwen3 config turns on the per-head q/k norms and names its features", "[model][hf]") {
  for (const char* path : {"qwen3", "qwen3.gguf"}) {
    INFO(path);
    claa::LoadedModel m = claa::describe_model(source_path("tests/fixtures/model/tiny/") + path);
    CHECK(m.config.architecture == "qwen3");
    CHECK(m.config.qk_norm);
    CHECK_FALSE(m.config.qkv_bias);
    CHECK(m.config.head_dim == 32);
    CHECK(m.config.sliding_window == 0);
    const std::vector<std::string> f = m.config.features();
    CHECK(std::find(f.begin(), f.end(), "q/k RMSNorm per head") != f.end());
    CHECK(std::find(f.begin(), f.end(), "head_dim 32 != hidden / heads") != f.end());
  }
}

TEST_CASE("Gemma configs read the sliding layers, soft-caps, attention scale and per-layer RoPE bases", "[model][hf]") {
  const claa::ModelConfig g2 =
      claa::ModelConfig::from_hf_file(source_path("tests/fixtures/model/tiny/gemma2/config.json"));
  CHECK(g2.architecture == "gemma2");
  CHECK(g2.sliding_window == 32);
  CHECK(g2.sliding_layers == std::vector<uint8_t>{1, 0});
  CHECK(g2.attn_softcap == 2.0);
  CHECK(g2.final_softcap == 5.0);
  CHECK(g2.query_scale == Approx(1.0 / std::sqrt(24.0)));
  CHECK(g2.embed_multiplier == Approx(8.0));
  CHECK((g2.sandwich_norms && g2.norm_plus_one && g2.activation == "gelu_tanh"));
  const claa::ModelConfig g3 =
      claa::ModelConfig::from_hf_file(source_path("tests/fixtures/model/tiny/gemma3/config.json"));
  CHECK(g3.architecture == "gemma3_text");
  CHECK(g3.qk_norm);
  CHECK(g3.rope_local_theta == 10000.0);
  CHECK(g3.rope_theta == 1000000.0);
  CHECK(g3.rope_scaling.type == "linear");
  CHECK(g3.attn_softcap == 0.0);
  // A multimodal Gemma 3 checkpoint's config: the text model under text_config.
  nlohmann::json multimodal;
  std::ifstream(source_path("tests/fixtures/model/tiny/gemma3/config.json")) >> multimodal["text_config"];
  multimodal["model_type"] = "gemma3";
  const claa::ModelConfig g3m = claa::ModelConfig::from_hf_json(multimodal, "gemma3");
  CHECK(g3m.architecture == "gemma3_text");
  CHECK(g3m.sliding_layers == g3.sliding_layers);
}

TEST_CASE("GGUF files of Phi-3, Gemma 2 and Gemma 3 read as their HF folders", "[model][hf][gguf]") {
  // tools/tiny_to_gguf.py writes them as llama.cpp's converter does: what the file leaves to llama.cpp's
  // code (Gemma's sliding pattern, local RoPE base, attention scale; Phi-3's full-head rotation) must
  // come back as the folder's config, and `claa info` must name the same features.
  for (const char* name : {"phi3", "gemma2", "gemma3"}) {
    INFO(name);
    const std::string dir = source_path("tests/fixtures/model/tiny/") + name;
    const claa::LoadedModel folder = claa::describe_model(dir), file = claa::describe_model(dir + ".gguf");
    const claa::ModelConfig &a = folder.config, &b = file.config;
    CHECK(file.source.kind == "gguf");
    CHECK(b.architecture == a.architecture);
    CHECK((b.n_layers == a.n_layers && b.hidden == a.hidden && b.n_heads == a.n_heads && b.n_kv_heads == a.n_kv_heads &&
           b.head_dim == a.head_dim && b.ffn == a.ffn && b.vocab == a.vocab && b.context == a.context));
    CHECK(b.tied_embeddings == a.tied_embeddings);
    CHECK(b.qk_norm == a.qk_norm);
    CHECK(b.rope_theta == a.rope_theta);
    CHECK(b.rope_local_theta == a.rope_local_theta);
    CHECK(b.rope_scaling.type == a.rope_scaling.type);
    CHECK(b.rope_scaling.factor == Approx(a.rope_scaling.factor));
    CHECK(b.rope_scaling.original_context == a.rope_scaling.original_context);
    CHECK(b.rope_scaling.attention_factor == a.rope_scaling.attention_factor);
    CHECK(b.sliding_window == a.sliding_window);
    CHECK(b.sliding_layers == a.sliding_layers);
    CHECK(b.query_scale == Approx(a.query_scale).epsilon(1e-7));
    CHECK((b.attn_softcap == a.attn_softcap && b.final_softcap == a.final_softcap));
    CHECK((b.embed_multiplier == a.embed_multiplier && b.sandwich_norms == a.sandwich_norms &&
           b.norm_plus_one == a.norm_plus_one && b.activation == a.activation));
    CHECK(b.features() == a.features());
  }
}

TEST_CASE("Sliding-window layers: configs, the window beyond the prompt, and pruned caches by entries as HF",
          "[model][hf]") {
  // Which layers slide: Mistral v0.1 all (sliding_window set), Qwen2/3 only with use_sliding_window from
  // max_window_layers on. (The windowed attention itself is checked against HF by the Gemma models above.)
  nlohmann::json config;
  std::ifstream(source_path("tests/fixtures/model/tiny/mistral/config.json")) >> config;
  config["sliding_window"] = 16;
  CHECK(claa::ModelConfig::from_hf_json(config, "mistral").sliding_layers == std::vector<uint8_t>{1, 1});
  config["model_type"] = "qwen3";
  config["use_sliding_window"] = false;
  CHECK(claa::ModelConfig::from_hf_json(config, "qwen3").sliding_window == 0);
  config["use_sliding_window"] = true;
  config["max_window_layers"] = 1;  // layers 1.. slide
  CHECK(claa::ModelConfig::from_hf_json(config, "qwen3").sliding_layers == std::vector<uint8_t>{0, 1});
  config["max_window_layers"] = 2;  // no layer slides
  CHECK(claa::ModelConfig::from_hf_json(config, "qwen3").sliding_window == 0);

  // Mistral's tiny model with a 16-token window: within it, exactly the full-attention model; a 17th
  // token sees the last 16 only (differs). After pruning, the window counts cache entries as HF's
  // DynamicSlidingWindowLayer does: a pruned windowed layer equals full attention over its last 15 kept
  // entries plus the new token.
  const std::string folder = source_path("tests/fixtures/model/tiny/mistral");
  const claa::LoadedModel reference = claa::load_model(folder, {});
  claa::ModelConfig windowed = reference.config;
  windowed.sliding_window = 16;
  windowed.sliding_layers = {1, 1};
  const claa::Transformer model(windowed, claa::load_hf_weights(folder, windowed), claa::RuntimeOptions{});
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 21; ++i) ids.push_back((i * 37 + 11) % 90);
  auto tokens = [&](int64_t begin, int64_t end) {
    return at::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end), at::kLong);
  };
  claa::KVCache cache = model.make_cache(), ref_cache = reference.model->make_cache();
  CHECK(at::equal(model.forward(tokens(0, 16), at::arange(16, at::kLong), cache),
                  reference.model->forward(tokens(0, 16), at::arange(16, at::kLong), ref_cache)));
  const at::Tensor a = model.forward(tokens(16, 17), at::full({1}, 16, at::kLong), cache);
  const at::Tensor b = reference.model->forward(tokens(16, 17), at::full({1}, 16, at::kLong), ref_cache);
  CHECK((a - b).abs().max().item<double>() > 1e-3);

  claa::KVCache pruned = model.make_cache(), last15 = model.make_cache();
  model.forward(tokens(0, 20), at::arange(20, at::kLong), pruned);
  model.forward(tokens(0, 20), at::arange(20, at::kLong), last15);
  for (int l = 0; l < 2; ++l) {
    pruned.keep_per_head(l, at::arange(2, 20, at::kLong).unsqueeze(0).expand({2, 18}).contiguous());  // 18 kept
    last15.keep_per_head(l, at::arange(5, 20, at::kLong).unsqueeze(0).expand({2, 15}).contiguous());
  }
  const at::Tensor windowed_out = model.forward(tokens(20, 21), at::full({1}, 20, at::kLong), pruned);
  const at::Tensor full_out = reference.model->forward(tokens(20, 21), at::full({1}, 20, at::kLong), last15);
  // Equal up to fp32 rounding: two attention paths, then the layers' projections (hidden states up
  // to ~20 here, where one ulp is 1.9e-6); a wrong window differs by > 1e-3, as above.
  const double scale = full_out.abs().max().item<double>();
  CHECK((windowed_out - full_out).abs().max().item<double>() <= 1e-6 * scale);
}

TEST_CASE("Shipped 8B config describes Llama-3.1-8B", "[model]") {
  claa::ModelConfig c = claa::ModelConfig::from_hf_file(source_path("configs/models/llama-3.1-8b.json"));
  CHECK(c.n_layers == 32);
  CHECK(c.n_heads == 32);
  CHECK(c.n_kv_heads == 8);
  CHECK(c.head_dim == 128);
  CHECK(c.ffn == 14336);
  CHECK(c.rope_scaling.type == "llama3");
  CHECK(c.parameter_count() > 7'900'000'000);
  CHECK(c.parameter_count() < 8'100'000'000);
}

TEST_CASE("MLP row chunks leave the logits unchanged", "[model][hf]") {
  // RuntimeOptions::mlp_chunk_rows bounds the MLP's activations on long prompts; every row's
  // result is the same whichever chunk computes it (fused CPU kernels and plain ATen ops).
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 23; ++i) ids.push_back((i * 37 + 11) % 90);  // the tiny models have 96 tokens
  for (bool fused : {true, false}) {
    INFO((fused ? "fused" : "aten") << " CPU kernels");
    at::Tensor logits[2];
    for (int64_t chunk : {0, 5}) {
      claa::RuntimeOptions o;
      o.fused_cpu_kernels = fused;
      o.mlp_chunk_rows = chunk;
      claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/llama3"), o);
      claa::KVCache cache = m.model->make_cache();
      at::Tensor hidden = m.model->forward(at::tensor(ids, at::kLong), at::arange(23, at::kLong), cache);
      logits[chunk == 0 ? 0 : 1] = m.model->logits(hidden);
    }
    REQUIRE(logits[0].sizes() == logits[1].sizes());
    // fp32 sums: OpenBLAS may block a GEMM of another row count differently.
    CHECK((logits[0] - logits[1]).abs().max().item<double>() <= 2e-5);
  }
}

TEST_CASE("A forward that keeps only the last rows gives those rows and the same cache and taps", "[model][hf]") {
  // Transformer::forward(..., last_rows): the last layer runs its output projection and MLP for the last
  // rows only. Every key, value and attention tap is the full forward's; the rows kept equal its last
  // rows up to fp32 rounding (a one-row GEMM is a GEMV with another summation order).
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 23; ++i) ids.push_back((i * 37 + 11) % 90);
  const at::Tensor t = at::tensor(ids, at::kLong), pos = at::arange(23, at::kLong);
  for (bool fused : {true, false}) {
    claa::RuntimeOptions o;
    o.fused_cpu_kernels = fused;
    const claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/llama3"), o);
    claa::KVCache full_cache = m.model->make_cache();
    ColumnSumTap full_sums;  // the attention of all queries, which last_rows must not cut
    const at::Tensor full = m.model->forward(t, pos, full_cache, &full_sums);
    for (int64_t rows : {1, 3}) {
      INFO((fused ? "fused" : "aten") << " CPU kernels, last " << rows << " rows");
      claa::KVCache cache = m.model->make_cache();
      ColumnSumTap sums;
      const at::Tensor last = m.model->forward(t, pos, cache, &sums, rows);
      REQUIRE(last.sizes() == at::IntArrayRef({rows, full.size(1)}));
      const double scale = full.abs().max().item<double>();
      CHECK((last - full.narrow(0, 23 - rows, rows)).abs().max().item<double>() <= 1e-6 * scale);
      for (int l = 0; l < m.model->n_layers(); ++l) {
        CHECK(at::equal(cache.keys(l), full_cache.keys(l)));
        CHECK(at::equal(cache.values(l), full_cache.values(l)));
        CHECK(at::equal(sums.sums_.at(l), full_sums.sums_.at(l)));
      }
      // A decode step over either cache is the same computation.
      const at::Tensor next = at::tensor(std::vector<int64_t>{7}, at::kLong), next_pos = at::full({1}, 23, at::kLong);
      claa::KVCache again = m.model->make_cache();
      m.model->forward(t, pos, again);
      CHECK(at::equal(m.model->forward(next, next_pos, cache), m.model->forward(next, next_pos, again)));
    }
  }
}
