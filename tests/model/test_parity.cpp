// Parity of the LibTorch runtime with HF transformers (eager, fp32) on SmolLM2-135M from the same
// GGUF file: final-position logits within 1e-3 and identical 32-token greedy continuations.
// Fixture: tests/fixtures/model/model_reference.json, written by tools/hf_reference.py.
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/generate.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

nlohmann::json load_json(const std::string& relative) {
  std::ifstream in(source_path(relative));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("SmolLM2 logits and greedy tokens match HF transformers (CPU fp32)", "[model][parity]") {
  nlohmann::json ref = load_json("tests/fixtures/model/model_reference.json");
  const claa::LoadedModel& m = default_model();
  for (const auto& [name, entry] : ref["prompts"].items()) {
    INFO("prompt " << name);
    std::vector<int64_t> ids = entry["input_ids"].get<std::vector<int64_t>>();
    claa::GenerationOptions options;
    options.max_new_tokens = static_cast<int64_t>(entry["greedy_tokens"].size());  // no EOS: run all steps
    claa::GenerationResult r = claa::generate(*m.model, ids, options);

    const nlohmann::json& top = entry["logits"];
    double max_diff = 0;
    for (size_t i = 0; i < top["top_ids"].size(); ++i) {
      int64_t id = top["top_ids"][i].get<int64_t>();
      max_diff = std::max(max_diff, std::abs(r.first_logits[id].item<double>() - top["top_values"][i].get<double>()));
    }
    INFO("max |logit diff| over HF's top-50 = " << max_diff);
    CHECK(max_diff <= 1e-3);
    at::Tensor l = r.first_logits.to(at::kDouble);
    CHECK(std::abs(l.mean().item<double>() - top["mean"].get<double>()) <= 1e-3);
    CHECK(std::abs(l.std().item<double>() - top["std"].get<double>()) <= 1e-3);
    CHECK(std::abs(l.max().item<double>() - top["max"].get<double>()) <= 1e-3);
    CHECK(std::abs(l.min().item<double>() - top["min"].get<double>()) <= 1e-3);
    CHECK(std::abs(at::logsumexp(l, 0).item<double>() - top["logsumexp"].get<double>()) <= 1e-3);
    CHECK(r.tokens == entry["greedy_tokens"].get<std::vector<int64_t>>());
  }
}

TEST_CASE("Generation stops at EOS and reports it", "[model]") {
  nlohmann::json ref = load_json("tests/fixtures/model/model_reference.json");
  const nlohmann::json& entry = ref["prompts"]["needle_a"];
  // HF's oracle answer stops at <|im_end|> (id 2) before 32 tokens.
  std::vector<int64_t> answer = entry["answer_tokens"].get<std::vector<int64_t>>();
  REQUIRE(answer.back() == 2);
  claa::GenerationOptions options;
  options.max_new_tokens = 32;
  options.eos_ids = {2};
  claa::GenerationResult r = claa::generate(*default_model().model, entry["input_ids"].get<std::vector<int64_t>>(), options);
  CHECK(r.stopped_by_eos);
  CHECK(r.tokens == answer);
}

TEST_CASE("A prompt longer than the context is rejected with a clear error", "[model]") {
  const claa::LoadedModel& m = default_model();
  std::vector<int64_t> ids(m.config.context, 5);
  claa::GenerationOptions options;
  options.max_new_tokens = 4;
  REQUIRE_THROWS_WITH(claa::generate(*m.model, ids, options), Catch::Contains("exceeds the model context"));
  REQUIRE_THROWS_WITH(claa::generate(*m.model, {}, options), Catch::Contains("empty prompt"));
  REQUIRE_THROWS_WITH(claa::generate(*m.model, {1, 2, 99999999}, options), Catch::Contains("token id out of range"));
}

TEST_CASE("Fused CPU attention equals the chunked attention on SmolLM2", "[model][attention]") {
  // The same 300-token prefill (and one decode step) through the fused kernel and through the
  // explicit path with tiny query chunks must give the same hidden states and H2O column sums.
  const claa::LoadedModel& m = default_model();
  REQUIRE(m.model->options().fused_cpu_kernels);
  std::vector<int64_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(100 + (i * 37) % 5000);
  at::Tensor t = at::tensor(ids, at::kLong), pos = at::arange(300, at::kLong);
  claa::RuntimeOptions small;
  small.fused_cpu_kernels = false;
  small.attention_chunk_floats = 9 * 300 * 7;  // 7 query rows per chunk
  claa::ModelWeights w = claa::load_gguf_weights(*m.gguf, m.config);
  claa::Transformer chunked(m.config, std::move(w), small);
  claa::KVCache c1 = m.model->make_cache(), c2 = chunked.make_cache();
  ColumnSumTap s1, s2;
  at::Tensor a = m.model->forward(t, pos, c1, &s1), b = chunked.forward(t, pos, c2, &s2);
  INFO("max |diff| " << (a - b).abs().max().item<float>() << ", max |a| " << a.abs().max().item<float>());
  // Only the summation order differs: relative to the activations' scale the difference is tiny.
  CHECK((a - b).abs().max().item<double>() <= 1e-5 * a.abs().max().item<double>());
  REQUIRE(s1.sums_.size() == static_cast<size_t>(m.config.n_layers));
  REQUIRE(s2.sums_.size() == s1.sums_.size());
  for (size_t l = 0; l < s1.sums_.size(); ++l) {
    INFO("layer " << l);
    CHECK(at::allclose(s1.sums_[l], s2.sums_[l], 1e-4, 1e-5));
  }
  at::Tensor next = at::tensor(std::vector<int64_t>{42}, at::kLong), next_pos = at::tensor(std::vector<int64_t>{300});
  at::Tensor a1 = m.model->forward(next, next_pos, c1), b1 = chunked.forward(next, next_pos, c2);
  CHECK((a1 - b1).abs().max().item<double>() <= 1e-5 * a1.abs().max().item<double>());
}
