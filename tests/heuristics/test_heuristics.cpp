// Heuristics on hand-made captures (exact expected values), the registry's error messages, and
// Speculative Prefill with a separate draft model.
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

// A capture with one layer, 2 heads / 1 KV head, N = 6, W = 2.
claa::CaptureResult tiny_capture() {
  claa::CaptureResult c;
  c.n_prompt = 6;
  c.window = 2;
  c.n_kv_heads = 1;
  claa::LayerCapture l;
  l.window_attn = at::tensor(std::vector<float>{0.1f, 0.5f, 0.2f, 0.9f, 0.1f, 0.2f, 0.3f, 0.1f, 0.4f, 0.1f, 0.05f, 0.05f}).view({2, 6});
  l.last_dots = at::tensor(std::vector<float>{1, -2, 3, 0, 5, 1, 2, 2, -1, 4, 0, 0}).view({2, 6});
  l.last_attn = at::softmax(l.last_dots, -1);
  l.key_norms = at::tensor(std::vector<float>{3, 1, 2, 5, 4, 6}).view({1, 6});
  c.layers = {l, l};
  return c;
}

std::vector<float> vec(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TEST_CASE("FastKV drops the window columns and sums the group (no pooling)", "[heuristics]") {
  claa::CaptureResult c = tiny_capture();
  auto s = claa::make_heuristic("fastkv", {{"pool", 1}})->score({c});
  // heads summed over the first N − W = 4 columns: {0.4, 0.6, 0.6, 1.0}
  std::vector<float> want = {0.4f, 0.6f, 0.6f, 1.0f};
  auto got = vec(s.combined[0]);
  REQUIRE(got.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(got[i] == Approx(want[i]));
}

TEST_CASE("GemFilter sums raw dot products over heads, then pools", "[heuristics]") {
  claa::CaptureResult c = tiny_capture();
  auto raw = vec(claa::make_heuristic("gemfilter", {{"pool", 1}})->score({c}).combined[0]);
  CHECK(raw == std::vector<float>{3, 0, 2, 4, 5, 1});
  // pool 3 with zero padding counted: first entry (0 + 3 + 0) / 3 = 1.
  auto pooled = vec(claa::make_heuristic("gemfilter", {{"pool", 3}})->score({c}).combined[0]);
  CHECK(pooled[0] == Approx(1.0f));
  CHECK(pooled[1] == Approx(5.0f / 3));
}

TEST_CASE("CLAA z-scores rows (unbiased std) and takes the max", "[heuristics]") {
  claa::CaptureResult c = tiny_capture();
  auto s = claa::make_heuristic("claa", {{"pool", 1}, {"n", 2}})->score({c});
  // One KV row per layer {0.4, 0.6, 0.6, 1.0}: mean 0.65, unbiased std 0.2517.
  const double mean = 0.65, sd = std::sqrt((0.0625 + 0.0025 + 0.0025 + 0.1225) / 3.0);
  auto got = vec(s.combined[1]);
  CHECK(got[0] == Approx((0.4 - mean) / (sd + 1e-8)));
  CHECK(got[3] == Approx((1.0 - mean) / (sd + 1e-8)));
  auto raw = vec(claa::make_heuristic("claa", {{"pool", 1}, {"normalize", "none"}})->score({c}).combined[0]);
  CHECK(raw[3] == Approx(1.0f));
}

TEST_CASE("Baselines: knorm, tova, streamingllm, recency, random", "[heuristics]") {
  claa::CaptureResult c = tiny_capture();
  CHECK(vec(claa::make_heuristic("knorm")->score({c}).combined[0]) == std::vector<float>{-3, -1, -2, -5, -4, -6});
  CHECK(vec(claa::make_heuristic("streamingllm", {{"sinks", 2}})->score({c}).combined[0]) ==
        std::vector<float>{6, 6, 2, 3, 4, 5});
  CHECK(vec(claa::make_heuristic("recency")->score({c}).combined[1]) == std::vector<float>{0, 1, 2, 3, 4, 5});
  auto tova = vec(claa::make_heuristic("tova")->score({c}).combined[0]);
  CHECK(tova[4] > tova[1]);
  auto r1 = vec(claa::make_heuristic("random")->score({c, 7}).combined[0]);
  auto r2 = vec(claa::make_heuristic("random")->score({c, 7}).combined[0]);
  auto r3 = vec(claa::make_heuristic("random")->score({c, 8}).combined[0]);
  CHECK(r1 == r2);
  CHECK(r1 != r3);
}

TEST_CASE("The registry rejects unknown names and parameters helpfully", "[heuristics]") {
  CHECK_THROWS_WITH(claa::make_heuristic("gemfliter"), Catch::Contains("did you mean 'gemfilter'"));
  CHECK_THROWS_WITH(claa::make_heuristic("claa", {{"granularity", "head"}}), Catch::Contains("kv_head or layer"));
  CHECK_THROWS_WITH(claa::make_heuristic("claa", {{"n", "four"}}), Catch::Contains("should look like 4"));
  CHECK_THROWS_WITH(claa::make_heuristic("specprefill", {{"draft", "/no/such/model.gguf"}}),
                    Catch::Contains("no such file"));
}

TEST_CASE("SpecPrefill with a separate draft model equals the self-draft when they agree", "[heuristics][model]") {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  std::vector<int64_t> ids = ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
  const claa::LoadedModel& m = default_model();
  auto self = claa::make_heuristic("specprefill");
  auto draft = claa::make_heuristic("specprefill", {{"draft", default_model_path()}});
  claa::CaptureOptions o;
  o.max_new_tokens = 32;
  o.eos_ids = {2};
  o.extra |= self->needs();
  claa::CaptureResult c = claa::capture_prompt(*m.model, ids, o);  // answer is 25 tokens ≥ k = 8
  auto a = self->score({c, 0, &ids, m.model.get()}), b = draft->score({c, 0, &ids, m.model.get()});
  CHECK(a.note == "self-draft");
  CHECK(b.note.rfind("draft ", 0) == 0);
  CHECK(at::allclose(a.combined[0], b.combined[0], 1e-5, 1e-7));

  auto foreign = claa::make_heuristic("specprefill", {{"draft", source_path("tests/fixtures/model/tiny/llama3")}});
  CHECK_THROWS_WITH(foreign->score({c, 0, &ids, m.model.get()}), Catch::Contains("different vocabulary"));
}

TEST_CASE("Two Expected Attention variants in one capture each get their own statistic", "[heuristics]") {
  const claa::LoadedModel& m = default_model();
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 48; ++i) ids.push_back(200 + (i * 53) % 700);
  auto near = claa::make_heuristic("expected_attention", {{"n_future_positions", 16}});
  auto far = claa::make_heuristic("expected_attention", {{"n_future_positions", 512}});
  auto capture_for = [&](std::vector<const claa::Heuristic*> hs) {
    claa::CaptureOptions o;
    o.max_new_tokens = 1;
    for (const claa::Heuristic* h : hs) o.extra |= h->needs();
    return claa::capture_prompt(*m.model, ids, o);
  };
  const claa::CaptureResult both = capture_for({near.get(), far.get()});
  const claa::CaptureResult near_only = capture_for({near.get()}), far_only = capture_for({far.get()});
  for (int layer : {0, 7, 29}) {
    INFO("layer " << layer);
    const at::Tensor a = near->score_layer({both}, layer).combined, b = far->score_layer({both}, layer).combined;
    CHECK(at::equal(a, near->score_layer({near_only}, layer).combined));
    CHECK(at::equal(b, far->score_layer({far_only}, layer).combined));
    CHECK_FALSE(at::allclose(a, b));  // the averaged rotation differs, so do the scores
  }
}
