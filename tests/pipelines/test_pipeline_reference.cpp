// The pruned prefill pipelines (method.md §4) against an independent emulation in HF transformers
// (tools/hf_pipelines.py: HF's own modules run layer by layer, eager fp32, same GGUF; written from
// method.md and the authors' kv-exps code, not from this C++), at keep 0.1 and 0.2 on a needle and
// a multi-hop (variable tracking) prompt. Checked per case: the kept token set at the selection
// point and the positions it carries, every layer's per-KV-head decode cache, the first token's
// logits (max |Δ| ≤ 1e-3 over the reference's top 100) and the greedy answer (identical tokens).
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "oracle/oracle.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

using nlohmann::json;

const json& reference() {
  static const json ref = [] {
    std::ifstream in(source_path("tests/fixtures/model/pipelines_reference.json"));
    REQUIRE(in.good());
    return json::parse(in);
  }();
  return ref;
}

std::vector<int64_t> as_ids(const at::Tensor& t) {
  at::Tensor c = t.to(at::kCPU, at::kLong).contiguous().view(-1);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

claa::GenerationOptions answer_options(const json& constants) {
  claa::GenerationOptions g;
  g.max_new_tokens = constants["max_new_tokens"].get<int64_t>();
  g.eos_ids = constants["eos"].get<std::vector<int64_t>>();
  return g;
}

// The oracle ranking of a prompt (method.md §1), for the oracle emulation; captured once per prompt
// (each prompt has a case per keep rate).
at::Tensor oracle_of(const std::string& prompt, const std::vector<int64_t>& ids, const json& constants) {
  static std::map<std::string, at::Tensor> captured;
  auto found = captured.find(prompt);
  if (found != captured.end()) return found->second;
  claa::CaptureOptions o;
  o.max_new_tokens = constants["max_new_tokens"].get<int64_t>();
  o.eos_ids = constants["eos"].get<std::vector<int64_t>>();
  return captured[prompt] = claa::capture_with_oracle(*default_model().model, ids, o, {}).oracle;
}

void check_logits(const at::Tensor& ours, const json& ref) {
  const auto ids = ref["top_ids"].get<std::vector<int64_t>>();
  const auto values = ref["top_values"].get<std::vector<double>>();
  double max_diff = 0;
  for (size_t i = 0; i < ids.size(); ++i)
    max_diff = std::max(max_diff, std::abs(ours[ids[i]].item<double>() - values[i]));
  INFO("max |Δlogit| over the reference's top " << ids.size() << ": " << max_diff);
  CHECK(max_diff <= 1e-3);
  CHECK(ours.argmax().item<int64_t>() == ids[0]);
}

void check_cases(const std::string& method) {
  const json& ref = reference();
  const json& constants = ref["constants"];
  const claa::Transformer& model = *default_model().model;
  int checked = 0;
  for (const json& c : ref["cases"]) {
    if (c["method"] != method) continue;
    const std::string prompt = c["prompt"].get<std::string>();
    const double keep = c["keep"].get<double>();
    INFO(method << " on " << prompt << " at keep " << keep);
    const auto ids = ref["prompts"][prompt]["input_ids"].get<std::vector<int64_t>>();
    claa::PipelineConfig config;
    config.method = method;
    config.keep = keep;
    claa::PipelineInputs inputs;
    if (method == "oracle") inputs.oracle = oracle_of(prompt, ids, constants);
    claa::PrefillOutcome p = claa::run_prefill(model, ids, config, inputs);

    CHECK(p.kept.numel() == c["budget"].get<int64_t>());
    CHECK(as_ids(p.kept) == c["kept"].get<std::vector<int64_t>>());
    CHECK(as_ids(p.kept_positions) == c["kept_positions"].get<std::vector<int64_t>>());
    CHECK(p.next_position == c["next_position"].get<int64_t>());
    const json& caches = c["cache_kept"];
    for (int l = 0; l < model.n_layers(); ++l) {
      INFO("layer " << l << " decode cache");
      const bool compressed = l < static_cast<int>(p.cache_kept.size()) && p.cache_kept[l].defined();
      REQUIRE(compressed == !caches[l].is_null());
      if (!compressed) continue;
      for (int64_t g = 0; g < p.cache_kept[l].size(0); ++g) {
        INFO("KV head " << g);
        CHECK(as_ids(p.cache_kept[l][g]) == caches[l][g].get<std::vector<int64_t>>());
      }
    }
    check_logits(p.first_logits, c["first_logits"]);
    CHECK(claa::decode_greedy(model, p, answer_options(constants)) == c["answer"].get<std::vector<int64_t>>());
    ++checked;
  }
  CHECK(checked >= 4);  // 2 prompts × 2 keep rates
}

}  // namespace

TEST_CASE("FastKV pipeline at keep 0.1 and 0.2 matches the HF emulation", "[pipelines][reference]") {
  check_cases("fastkv");
}

TEST_CASE("CLAA pipeline at keep 0.1 and 0.2 matches the HF emulation", "[pipelines][reference]") { check_cases("claa"); }

TEST_CASE("Oracle emulation pipeline at keep 0.1 and 0.2 matches the HF emulation", "[pipelines][reference]") {
  check_cases("oracle");
}

TEST_CASE("GemFilter pipeline at keep 0.1 and 0.2 matches the HF emulation", "[pipelines][reference]") {
  check_cases("gemfilter");
}

TEST_CASE("SpecPrefill self-draft pipeline at keep 0.1 and 0.2 matches the HF emulation", "[pipelines][reference]") {
  check_cases("specprefill");
}

TEST_CASE("Full KV first-token logits and answers match HF on the pipeline prompts", "[pipelines][reference]") {
  const json& ref = reference();
  const claa::Transformer& model = *default_model().model;
  for (const auto& [name, prompt] : ref["prompts"].items()) {
    INFO("prompt " << name);
    claa::PipelineConfig config;  // method full
    claa::PrefillOutcome p = claa::run_prefill(model, prompt["input_ids"].get<std::vector<int64_t>>(), config);
    check_logits(p.first_logits, prompt["full"]["first_logits"]);
    CHECK(claa::decode_greedy(model, p, answer_options(ref["constants"])) ==
          prompt["full"]["answer"].get<std::vector<int64_t>>());
  }
}
