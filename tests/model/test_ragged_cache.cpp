// Ragged KV caches (KVCache::keep_ragged): AdaKV-style per-head budgets keep a different number of
// tokens per KV head, the cache pads the shorter heads and attention masks the padding.
//  - a hand-made cache: rows, mask, appends and live bytes;
//  - decoding over a ragged cache against tools/hf_reference_ragged.py: HF transformers' own eager
//    attention over exactly each head's kept keys (gathered, padded, masked per query head there), on the
//    needle_a prompt, 8 greedy steps; every step's logits within 1e-3 of HF's (as test_parity.cpp).
#include <ATen/ATen.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/kv_cache.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

at::Tensor rows_of(int64_t first, int64_t count) {  // [1, count, 2]: row r holds (r, −r)
  at::Tensor r = at::arange(first, first + count, at::kFloat);
  return at::stack({r, -r}, 1).unsqueeze(0);
}

// The keep rule of tools/hf_reference_ragged.py (the fixture states it too).
std::vector<int64_t> kept_positions(int layer, int64_t head, int64_t n, int64_t window) {
  std::vector<int64_t> p;
  const int64_t m = head + 2;
  for (int64_t i = 0; i < n - window; ++i)
    if (i % m == layer % m) p.push_back(i);
  for (int64_t i = n - window; i < n; ++i) p.push_back(i);
  return p;
}

}  // namespace

TEST_CASE("A ragged cache keeps each head's rows and masks the padding", "[model][cache]") {
  claa::KVCache cache(1);
  at::Tensor k = at::cat({rows_of(0, 6), rows_of(10, 6), rows_of(20, 6)}, 0);  // [3, 6, 2]
  cache.append(0, k, -k);
  CHECK(!cache.key_mask(0).defined());
  cache.keep_ragged(0, {at::tensor({1, 3, 5}, at::kLong), at::tensor({0}, at::kLong), at::tensor({2, 4}, at::kLong)});
  REQUIRE(cache.length(0) == 3);
  const at::Tensor keys = cache.keys(0);
  CHECK(keys[0].select(1, 0).equal(at::tensor({1.f, 3.f, 5.f})));
  CHECK(keys[1][0][0].item<float>() == 10.f);
  CHECK(keys[2].select(1, 0).narrow(0, 0, 2).equal(at::tensor({22.f, 24.f})));
  CHECK(cache.values(0)[2][1][0].item<float>() == -24.f);
  CHECK(cache.key_mask(0).equal(at::tensor({1, 1, 1, 1, 0, 0, 1, 1, 0}, at::kLong).to(at::kBool).view({3, 3})));
  const int64_t row_bytes = 2 * 2 * 4;  // key + value, 2 floats each
  CHECK(cache.live_bytes() == 6 * row_bytes);
  // A new token is visible to every head, also after the storage grows.
  for (int t = 0; t < 40; ++t)
    cache.append(0, rows_of(100 + t, 3).view({3, 1, 2}), rows_of(100 + t, 3).view({3, 1, 2}));
  REQUIRE(cache.length(0) == 43);
  CHECK(cache.key_mask(0).narrow(1, 3, 40).all().item<bool>());
  CHECK(cache.key_mask(0).narrow(1, 0, 3).equal(at::tensor({1, 1, 1, 1, 0, 0, 1, 1, 0}, at::kLong).to(at::kBool).view({3, 3})));
  CHECK(cache.live_bytes() == (6 + 3 * 40) * row_bytes);
  // Equal counts are not ragged: no mask. A new uniform keep drops the mask.
  cache.keep_per_head(0, at::tensor({0, 1, 0, 1, 0, 1}, at::kLong).view({3, 2}));
  CHECK(!cache.key_mask(0).defined());
  CHECK_THROWS_AS(cache.keep_ragged(0, {at::tensor({0}, at::kLong)}), claa::Error);
}

namespace {

// One model's decode over the fixture's ragged cache, checked step by step against HF.
void check_ragged_decode(const claa::Transformer& model, const nlohmann::json& ref) {
  const at::Device device = model.options().device;
  const std::vector<int64_t> ids = ref["input_ids"].get<std::vector<int64_t>>();
  const int64_t n = static_cast<int64_t>(ids.size()), window = ref["window"].get<int64_t>();
  auto on_device = [&](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong).to(device); };
  claa::KVCache cache = model.make_cache();
  at::Tensor hidden = model.forward(on_device(ids), at::arange(n, at::TensorOptions(at::kLong).device(device)), cache);
  int64_t token = model.logits(hidden.narrow(0, n - 1, 1)).squeeze(0).argmax().item<int64_t>();
  for (int l = 0; l < model.n_layers(); ++l) {
    std::vector<at::Tensor> heads;
    std::vector<int64_t> counts;
    for (int64_t g = 0; g < model.config().n_kv_heads; ++g) {
      heads.push_back(on_device(kept_positions(l, g, n, window)));
      counts.push_back(heads.back().numel());
    }
    CHECK(counts == ref["counts"][l].get<std::vector<int64_t>>());
    cache.keep_ragged(l, heads);
  }
  int64_t step = 0;
  for (const nlohmann::json& want : ref["steps"]) {
    INFO("decode step " << step);
    REQUIRE(token == want["input"].get<int64_t>());
    at::Tensor x = model.forward(on_device({token}), on_device({n + step}), cache);
    at::Tensor logits = model.logits(x).squeeze(0).to(at::kCPU, at::kDouble);
    double worst = 0;
    for (size_t i = 0; i < want["top_ids"].size(); ++i)
      worst = std::max(worst, std::abs(logits[want["top_ids"][i].get<int64_t>()].item<double>() -
                                       want["top_values"][i].get<double>()));
    INFO("max |logit diff| over HF's top-50 = " << worst);
    CHECK(worst <= 1e-3);
    CHECK(std::abs(at::logsumexp(logits, 0).item<double>() - want["logsumexp"].get<double>()) <= 1e-3);
    token = logits.argmax().item<int64_t>();
    ++step;
  }
}

}  // namespace

TEST_CASE("Decoding over a ragged cache matches HF attention over each head's kept keys", "[model][cache][reference]") {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/ragged_reference.json")) >> ref;
  REQUIRE(!ref.is_null());
  SECTION("CPU: the explicit attention path with the key mask") { check_ragged_decode(*default_model().model, ref); }
  SECTION("CUDA fp32: SDPA with a boolean mask per head") {
    if (!at::hasCUDA()) {
      WARN("no CUDA device: the masked SDPA path is not tested here");
      return;
    }
    claa::RuntimeOptions runtime;
    runtime.device = at::Device(at::kCUDA, 0);
    const claa::LoadedModel m = claa::load_model(default_model_path(), runtime);
    check_ragged_decode(*m.model, ref);
  }
}
