// The LazyLLM pipeline (method lazyllm, progressive pruning; harness/pipelines/prefill_pipeline.cpp):
// token counts per stage, per-layer cache lengths, original positions, and the first stage's
// survivors checked against an independent full capture (up to the first stage layer every token
// is alive, so the stage's ranking is the unpruned last token's attention at that layer).
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "capture/capture.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "selection/budget.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

TEST_CASE("lazyllm pipeline prunes progressively at its stage layers", "[pipelines][lazyllm]") {
  const claa::Transformer& model = *default_model().model;
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  const std::vector<int64_t> ids = ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
  const int64_t n = static_cast<int64_t>(ids.size()), W = 8;
  const int L = model.n_layers();  // 30: stages at layers 7, 15, 22

  claa::PipelineConfig c;
  c.method = "lazyllm";
  c.keep = 0.2;
  const claa::PrefillOutcome p = claa::run_prefill(model, ids, c, {});

  const int64_t budget = claa::budget_tokens(0.2, n, static_cast<int>(W));
  auto alive_after = [&](int stage) {  // max(C, ⌈N · keep^(i/S)⌉) for i < S = 3
    return std::max<int64_t>(budget, static_cast<int64_t>(std::ceil(n * std::pow(0.2, stage / 3.0) - 1e-9)));
  };
  INFO("N = " << n << ", C = " << budget << ", alive after stages 1, 2: " << alive_after(1) << ", " << alive_after(2));
  REQUIRE(L == 30);
  REQUIRE(p.kept.numel() == budget);
  CHECK(at::equal(p.kept_positions, p.kept));  // original position ids
  CHECK(p.next_position == n);
  for (int l = 0; l < L; ++l) {
    INFO("layer " << l);
    const int64_t want = l <= 7 ? n : l <= 15 ? alive_after(1) : l <= 22 ? alive_after(2) : budget;
    CHECK(p.cache.length(l) == want);
  }
  const std::vector<int64_t> kept(p.kept.data_ptr<int64_t>(), p.kept.data_ptr<int64_t>() + p.kept.numel());
  CHECK(std::is_sorted(kept.begin(), kept.end()));
  for (int64_t j = n - W; j < n; ++j) CHECK(std::count(kept.begin(), kept.end(), j) == 1);  // the window

  // Stage 1 (layer 7) from a full capture: the last prompt token's attention averaged over heads;
  // the window plus the top alive_after(1) − W of the first N − W tokens survive.
  claa::CaptureOptions o;
  o.max_new_tokens = 1;
  const claa::CaptureResult full = claa::capture_prompt(model, ids, o);
  const at::Tensor importance = full.layers[7].last_attn.mean(0).narrow(0, 0, n - W);
  const at::Tensor top = std::get<1>(importance.topk(alive_after(1) - W));
  std::set<int64_t> stage1(top.data_ptr<int64_t>(), top.data_ptr<int64_t>() + top.numel());
  for (int64_t j = n - W; j < n; ++j) stage1.insert(j);
  for (int64_t j : kept) {
    INFO("kept token " << j);
    CHECK(stage1.count(j) == 1);  // later stages only prune among stage 1's survivors
  }

  // The answer decodes from the pruned caches.
  claa::PrefillOutcome q = claa::run_prefill(model, ids, c, {});
  claa::GenerationOptions g;
  g.max_new_tokens = 4;
  CHECK(claa::decode_greedy(model, q, g).size() == 4);
}

TEST_CASE("lazyllm pipeline settings are validated", "[pipelines][lazyllm]") {
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "lazyllm"}, {"stages", {0.5, 1.0}}}),
                    Catch::Contains("fractions of the depth in (0, 1)"));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "lazyllm"}, {"stages", nlohmann::json::array()}}),
                    Catch::Contains("at least one pruning stage"));
  const claa::PipelineConfig c = claa::pipeline_from_json({{"method", "lazyllm"}, {"stages", {0.5}}});
  CHECK(c.kind() == claa::PipelineKind::Progressive);
  CHECK(claa::to_json(c.resolved(30))["stages"] == nlohmann::json({0.5}));
  const claa::PrefillOutcome p = claa::run_prefill(*default_model().model, std::vector<int64_t>(64, 42),
                                                   c, {});  // one stage at layer 15 → C directly
  CHECK(p.kept.numel() == claa::budget_tokens(0.1, 64, 8));
}
