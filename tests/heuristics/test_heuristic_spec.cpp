// Heuristic specs (heuristics/heuristic_spec.h) and presets: `snapkv@kvpress{window=32}` is parsed,
// resolved over the defaults and the preset, and refused with a clear message when wrong.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/pipelines/pipeline_config.h"
#include "harness/runner/run_config.h"
#include "heuristics/heuristic.h"
#include "tests/catch.h"

TEST_CASE("A heuristic spec gives the name, the preset and typed parameters", "[heuristics][spec]") {
  claa::HeuristicSpec s =
      claa::parse_heuristic_spec(" snapkv@kvpress{window=32, pooling=maxpool,alpha=0.5,flag=true} ");
  CHECK(s.name == "snapkv");
  CHECK(s.preset == "kvpress");
  CHECK(s.params == nlohmann::json({{"window", 32}, {"pooling", "maxpool"}, {"alpha", 0.5}, {"flag", true}}));
  CHECK(s.params["window"].is_number_integer());
  CHECK(s.text == "snapkv@kvpress{window=32, pooling=maxpool,alpha=0.5,flag=true}");
  CHECK(claa::parse_heuristic_spec("fastkv").params.empty());
  CHECK(claa::parse_heuristic_spec("fastkv{}").params.empty());

  std::vector<claa::HeuristicSpec> list = claa::parse_heuristic_specs("snapkv{window=64,kernel=5},claa, tova@kvpress");
  REQUIRE(list.size() == 3);
  CHECK(list[0].params["kernel"] == 5);
  CHECK(list[1].name == "claa");
  CHECK(list[2].preset == "kvpress");

  CHECK_THROWS_WITH(claa::parse_heuristic_spec("snapkv{window}"), Catch::Contains("expected KEY=VALUE"));
  CHECK_THROWS_WITH(claa::parse_heuristic_spec("snapkv{window=1,window=2}"), Catch::Contains("given twice"));
  CHECK_THROWS_WITH(claa::parse_heuristic_spec("snapkv{window=1"), Catch::Contains("must end with '}'"));
  CHECK_THROWS_WITH(claa::parse_heuristic_spec("snap kv"), Catch::Contains("NAME[@PRESET]"));
  CHECK_THROWS_WITH(claa::parse_heuristic_spec("snapkv@"), Catch::Contains("bad preset name"));
  CHECK_THROWS_WITH(claa::parse_heuristic_specs("a{b={c=1}}"), Catch::Contains("unbalanced braces"));
}

TEST_CASE("Presets: kvpress's defaults next to each heuristic's own source", "[heuristics][spec]") {
  // SnapKV: the SnapKV repo's LongBench settings by default, SnapKVPress's (kvpress) by preset.
  CHECK(claa::resolve_heuristic_params("snapkv", {}) ==
        nlohmann::json({{"window", 32}, {"kernel", 7}, {"pooling", "maxpool"}, {"gqa_mean", "after_pool"}}));
  CHECK(claa::resolve_heuristic_params("snapkv", {}, "kvpress") ==
        nlohmann::json({{"window", 64}, {"kernel", 5}, {"pooling", "avgpool"}, {"gqa_mean", "after_pool"}}));
  // Overrides apply on top of the preset.
  CHECK(claa::resolve_heuristic_params("snapkv", {{"window", 16}}, "kvpress")["window"] == 16);
  CHECK(claa::resolve_heuristic_params("snapkv", {{"window", 16}}, "kvpress")["kernel"] == 5);
  // PyramidKV / Ada-KV: KVCache-Factory's by default, kvpress's by preset.
  CHECK(claa::resolve_heuristic_params("pyramidkv", {})["window"] == 8);
  CHECK(claa::resolve_heuristic_params("pyramidkv", {}, "kvpress")["window"] == 64);
  CHECK(claa::resolve_heuristic_params("adakv", {}, "kvpress")["pooling"] == "avgpool");
  CHECK(claa::resolve_heuristic_params("adakv", {}, "kvpress")["alpha_safeguard"] == 0.2);
  // Heuristics whose defaults already are kvpress's accept the preset and change nothing.
  for (const char* name : {"expected_attention", "knorm", "tova", "streamingllm", "kvzip"}) {
    INFO(name);
    CHECK(claa::resolve_heuristic_params(name, {}, "kvpress") == claa::resolve_heuristic_params(name, {}));
  }
  CHECK_THROWS_WITH(claa::resolve_heuristic_params("snapkv", {}, "kvpres"),
                    Catch::Contains("unknown preset 'kvpres' (did you mean 'kvpress'?)"));
  CHECK_THROWS_WITH(claa::resolve_heuristic_params("fastkv", {}, "kvpress"), Catch::Contains("it has none"));
}

TEST_CASE("A config's heuristics list takes specs and preset objects, labelled as written", "[heuristics][spec]") {
  std::vector<claa::HeuristicSection> h =
      claa::parse_heuristic_list(nlohmann::json::parse(R"(["snapkv", "snapkv@kvpress", "snapkv{window=64}",
                                {"name": "pyramidkv", "preset": "kvpress"},
                                {"name": "adakv", "label": "ada", "preset": "kvpress", "params": {"kernel": 7}}])"),
                                 "test");
  REQUIRE(h.size() == 5);
  CHECK(h[1].label == "snapkv@kvpress");
  CHECK(h[1].params["pooling"] == "avgpool");
  CHECK(h[2].label == "snapkv{window=64}");
  CHECK(h[2].params["window"] == 64);
  CHECK(h[2].params["kernel"] == 7);
  CHECK(h[3].label == "pyramidkv@kvpress");
  CHECK(h[3].params["window"] == 64);
  CHECK(h[4].label == "ada");
  CHECK(h[4].params["kernel"] == 7);
  CHECK(h[4].params["window"] == 64);
  CHECK_THROWS_WITH(claa::parse_heuristic_list(nlohmann::json::parse(R"(["snapkv@nope"])"), "test"),
                    Catch::Contains("heuristics[0]: heuristic 'snapkv': unknown preset 'nope'"));
}

TEST_CASE("A pipeline spec selects with a preset or inline parameters", "[heuristics][spec][pipelines]") {
  claa::PipelineConfig a = claa::pipeline_from_spec("fastkv_style:snapkv@kvpress").resolved(30);
  CHECK(a.heuristic == "snapkv");
  CHECK(a.selection_params()["window"] == 64);
  CHECK(a.label == "fastkv_style:snapkv@kvpress");
  claa::PipelineConfig b = claa::pipeline_from_spec("fastkv_style:snapkv{kernel=3}").resolved(30);
  CHECK(b.selection_params() == nlohmann::json({{"kernel", 3}}));
  CHECK(b.label == "fastkv_style:snapkv{kernel=3}");
  claa::PipelineConfig c = claa::pipeline_from_json(
      {{"method", "fastkv_style"}, {"heuristic", {{"name", "pyramidkv"}, {"preset", "kvpress"}}}});
  CHECK(c.selection_params()["pooling"] == "avgpool");
  CHECK(claa::pipeline_from_spec("fastkv_style:tova").resolved(30).label == "fastkv_style:tova");
}
