// HF-folder loading (config.json + safetensors, sharded or not; bf16/fp16/fp32) and the
// architecture variants: Llama-3.1 rope_scaling "llama3", Qwen2 q/k/v biases with tied
// embeddings, Mistral. Reference: HF transformers' own fp32 outputs (tools/make_tiny_models.py).
#include <nlohmann/json.hpp>

#include "model/generate.h"
#include "model/model_loader.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

TEST_CASE("Tiny HF models match transformers logits and greedy tokens", "[model][hf]") {
  const nlohmann::json ref = tiny_model_reference();
  for (const char* kind : {"llama3", "qwen2", "mistral"}) {
    INFO("model " << kind);
    const nlohmann::json& e = ref[kind];
    claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/") + kind, claa::RuntimeOptions{});
    // Inverse RoPE frequencies (checks llama3 scaling).
    std::vector<double> want = e["inv_freq"].get<std::vector<double>>();
    at::Tensor inv = claa::rope_inv_freq(m.config).to(at::kDouble);
    REQUIRE(inv.numel() == static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) CHECK(inv[i].item<double>() == Approx(want[i]).epsilon(1e-6));

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
