// Prefill pipelines (method.md §4): keep = 1.0 reproduces the full-KV answer for every method;
// FastKV/CLAA propagate tokens with their original position ids while GemFilter renumbers them;
// budgets and per-head cache compression hold.
#include <fstream>
#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "oracle/oracle.h"
#include "selection/budget.h"
#include "selection/selection.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

std::vector<int64_t> needle_prompt() {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  return ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
}

claa::GenerationOptions answer_options() {
  claa::GenerationOptions g;
  g.max_new_tokens = 12;
  g.eos_ids = {2};
  return g;
}

at::Tensor oracle_of(const std::vector<int64_t>& ids) {
  claa::CaptureOptions o;
  o.max_new_tokens = 12;
  o.eos_ids = {2};
  return claa::capture_with_oracle(*default_model().model, ids, o, {}).oracle;
}

}  // namespace

TEST_CASE("keep = 1.0 reproduces the full-KV answer for every method", "[pipelines]") {
  const claa::Transformer& model = *default_model().model;
  std::vector<int64_t> ids = needle_prompt();
  claa::PipelineInputs inputs;
  inputs.oracle = oracle_of(ids);
  claa::GenerationResult full = claa::generate(model, ids, answer_options());
  for (const char* method : {"full", "fastkv", "claa", "oracle", "gemfilter", "specprefill", "lazyllm"}) {
    INFO("method " << method);
    claa::PipelineConfig c;
    c.method = method;
    c.keep = 1.0;
    claa::PrefillOutcome p = claa::run_prefill(model, ids, c, inputs);
    CHECK(p.kept.numel() == static_cast<int64_t>(ids.size()));
    CHECK(claa::decode_greedy(model, p, answer_options()) == full.tokens);
  }
}

TEST_CASE("FastKV and CLAA keep original positions, GemFilter renumbers", "[pipelines]") {
  const claa::Transformer& model = *default_model().model;
  std::vector<int64_t> ids = needle_prompt();
  const int64_t n = static_cast<int64_t>(ids.size()), budget = claa::budget_tokens(0.1, n, 8);
  CHECK(budget == static_cast<int64_t>(0.1 * n));
  claa::PipelineInputs oracle_only;
  oracle_only.oracle = oracle_of(ids);  // one capture for the three methods
  for (const char* method : {"fastkv", "claa", "oracle"}) {
    INFO("method " << method);
    claa::PipelineConfig c;
    c.method = method;
    c.keep = 0.1;
    claa::PrefillOutcome p = claa::run_prefill(model, ids, c, oracle_only);
    REQUIRE(p.kept.numel() == budget);
    CHECK(at::equal(p.kept_positions, p.kept));  // position id = original prompt index
    CHECK(p.kept_positions[budget - 1].item<int64_t>() == n - 1);
    CHECK(at::equal(p.kept.narrow(0, budget - 8, 8), at::arange(n - 8, n, at::kLong)));  // last W forced
    CHECK(p.next_position == n);
    int first_compressed = std::string(method) == "claa" ? 4 : 0;
    for (int l = 0; l < model.n_layers(); ++l) {
      INFO("layer " << l);
      CHECK(p.cache.length(l) == (l < first_compressed ? n : budget));
    }
  }
  claa::PipelineConfig g;
  g.method = "gemfilter";
  g.keep = 0.1;
  claa::PrefillOutcome p = claa::run_prefill(model, ids, g);
  REQUIRE(p.kept.numel() == budget);
  CHECK(at::equal(p.kept_positions, at::arange(budget, at::kLong)));
  CHECK(p.next_position == budget);
  CHECK(!at::equal(p.kept, at::arange(budget, at::kLong)));  // it did select, not just take a prefix
}

TEST_CASE("Selection breaks ties towards the lower index and returns prompt order", "[pipelines]") {
  at::Tensor s = at::tensor(std::vector<float>{1, 5, 5, 0, 5, 2}, at::kFloat);
  CHECK(at::equal(claa::top_k_sorted(s, 2), at::tensor(std::vector<int64_t>{1, 2}, at::kLong)));
  // Window rule: last 2 forced, top 1 of the first 4 (ties → index 1).
  CHECK(at::equal(claa::keep_window_plus_top(s, 6, 3, 2), at::tensor(std::vector<int64_t>{1, 4, 5}, at::kLong)));
  // Chunks of 2: means {3, 2.5, 3.5} → chunk 2 (4,5) then chunk 0 (0,1), cut at 3 tokens.
  CHECK(at::equal(claa::top_chunks_sorted(s, 3, 2), at::tensor(std::vector<int64_t>{0, 4, 5}, at::kLong)));
  // Per row (the decode-cache rule): each row as keep_window_plus_top alone, ties to the lower index.
  at::Tensor rows = at::tensor(std::vector<float>{1, 5, 5, 0, 5, 2, /**/ 3, 3, 0, 3, 9, 9, /**/ 0, 0, 0, 0, 0, 0},
                               at::kFloat).view({3, 6});
  at::Tensor want = at::tensor(std::vector<int64_t>{1, 2, 4, 5, /**/ 0, 1, 4, 5, /**/ 0, 1, 4, 5}, at::kLong).view({3, 4});
  CHECK(at::equal(claa::keep_window_plus_top_per_row(rows, 6, 4, 2), want));
}

TEST_CASE("Pipeline settings are validated", "[pipelines]") {
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "fastk"}}), Catch::Contains("did you mean 'fastkv'"));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"kep", 0.1}}), Catch::Contains("did you mean 'keep'"));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"keep", 1.5}}), Catch::Contains("keep rate must be in (0, 1]"));
  claa::PipelineConfig c = claa::PipelineConfig{}.resolved(32);
  CHECK(c.prune_layer == 15);
  CHECK(c.filter_layer == 15);
}

TEST_CASE("A heuristic's parameters are set only as its own params in a pipeline", "[pipelines]") {
  // The old copies of heuristic parameters say where the setting lives now.
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "claa"}, {"claa_n", 2}}),
                    Catch::Contains("'claa_n' is the claa heuristic's parameter") && Catch::Contains("\"n\": ..."));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "specprefill"}, {"spec_lookahead", 4}}),
                    Catch::Contains("specprefill heuristic's parameter"));
  claa::PipelineConfig n2 =
      claa::pipeline_from_json({{"method", "claa"}, {"heuristic", {{"name", "claa"}, {"params", {{"n", 2}}}}}});
  CHECK(n2.selection_params() == nlohmann::json{{"n", 2}});
  CHECK(claa::to_json(n2.resolved(30))["heuristic"]["params"]["n"] == 2);  // recorded with every resolved param
  CHECK(claa::to_json(n2.resolved(30))["heuristic"]["params"]["pool"] == 7);
  // "pool" is the decode-cache rows' kernel; changing it alone would leave the selection at its default.
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "fastkv"}, {"pool", 5}}),
                    Catch::Contains("also give \"heuristic\": {\"name\": \"fastkv\", \"params\": {\"pool\": 5}}"));
  CHECK_NOTHROW(claa::pipeline_from_json(
      {{"method", "fastkv"}, {"pool", 5}, {"heuristic", {{"name", "fastkv"}, {"params", {{"pool", 5}}}}}}));
  CHECK_NOTHROW(claa::pipeline_from_json({{"method", "gemfilter"}, {"pool", 5}}));  // GemFilter caches everything
  // Parameter values are checked when the pipeline is made (once per run, before any prompt).
  CHECK_THROWS_WITH(
      claa::make_pipeline(
          claa::pipeline_from_json({{"method", "claa"}, {"heuristic", {{"name", "claa"}, {"params", {{"n", 0}}}}}}),
          30),
      Catch::Contains("n must be at least 1"));
  CHECK_THROWS_WITH(claa::make_pipeline(
                        claa::pipeline_from_json({{"method", "gemfilter"},
                                                  {"heuristic", {{"name", "gemfilter"}, {"params", {{"pool", -1}}}}}}),
                        30),
                    Catch::Contains("pool must be non-negative"));
}

TEST_CASE("A pipeline spec is a method name or METHOD colon HEURISTIC or a JSON object", "[pipelines]") {
  const claa::PipelineConfig plain = claa::pipeline_from_spec("claa").resolved(30);
  CHECK(plain.method == "claa");
  CHECK(plain.heuristic == "claa");
  CHECK(plain.label == "claa");
  const claa::PipelineConfig snap = claa::pipeline_from_spec("fastkv_style:snapkv").resolved(30);
  CHECK(snap.kind() == claa::PipelineKind::FastKVStyle);
  CHECK(snap.heuristic == "snapkv");
  CHECK(snap.label == "fastkv_style:snapkv");
  const claa::PipelineConfig gem = claa::pipeline_from_spec("gemfilter:tova").resolved(30);
  CHECK(gem.kind() == claa::PipelineKind::GemFilter);
  CHECK(gem.heuristic == "tova");
  CHECK(gem.label == "gemfilter:tova");
  CHECK(claa::pipeline_from_spec({{"method", "claa"}, {"label", "x"}}).label == "x");
  CHECK_THROWS_WITH(claa::pipeline_from_spec("fastkv_style:snapk"), Catch::Contains("did you mean 'snapkv'"));
  CHECK_THROWS_WITH(claa::pipeline_from_spec("fastkv_style:"), Catch::Contains("expected METHOD or METHOD:HEURISTIC"));
  // A pipeline's heuristic is built once and shared across keep rates.
  const claa::Pipeline p = claa::make_pipeline(claa::pipeline_from_spec("claa"), 30);
  const claa::Pipeline q = p.at_keep(0.4);
  CHECK(q.selection.get() == p.selection.get());
  CHECK(q.config.keep == 0.4);
  CHECK_THROWS_WITH(p.at_keep(0.0), Catch::Contains("keep rate must be in (0, 1]"));
}
