// kvpress's evaluation protocol as a pipeline (harness/pipelines/prefill_pipeline.h, methods kvpress and
// kvpress_query_aware): the compressed part is prefilled in full, each layer's cache is cut per KV
// head by the heuristic's scores, then the question runs on the cut caches at its original positions.
// Checked against a construction by hand: a plain prefill of the context, each layer's cache cut to
// the rows StreamingLLM keeps (its 4 sinks and the most recent tokens: known without any score),
// the question forwarded on top.
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "model/kv_cache.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

std::vector<int64_t> prompt_ids() {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  return ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST_CASE("kvpress protocol: the question runs on caches cut per layer, at its original positions",
          "[pipelines][kvpress]") {
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = prompt_ids();
  const int64_t n = static_cast<int64_t>(ids.size()), split = n - 24;  // the last 24 tokens play the question
  const int64_t Hkv = model.config().n_kv_heads;
  claa::PipelineInputs inputs;
  inputs.context_end = split;

  // keep = 0.5 (compression_ratio 0.5): int(0.5 · N_c) rows per head; StreamingLLM keeps its 4 sinks
  // and the most recent ones, the same in every layer and head.
  const int64_t kept = split / 2;
  std::vector<int64_t> want;
  for (int64_t j = 0; j < 4; ++j) want.push_back(j);
  for (int64_t j = split - (kept - 4); j < split; ++j) want.push_back(j);
  claa::PrefillOutcome p = claa::run_prefill(
      model, ids, claa::pipeline_from_json({{"method", "kvpress"}, {"heuristic", "streamingllm"}, {"keep", 0.5}}),
      inputs);
  for (int l = 0; l < model.n_layers(); ++l) {
    INFO("layer " << l);
    REQUIRE(p.cache_kept[l].defined());
    REQUIRE(p.cache_kept[l].size(0) == Hkv);
    for (int64_t g = 0; g < Hkv; ++g) {
      at::Tensor row = p.cache_kept[l][g].contiguous();
      CHECK(std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()) == want);
    }
  }
  CHECK(p.next_position == n);

  // By hand: prefill the context, cut every layer's cache to `want`, forward the question.
  claa::KVCache cache = model.make_cache();
  model.forward(at::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + split), at::kLong),
                at::arange(split, at::kLong), cache);
  const at::Tensor index = at::tensor(want, at::kLong).unsqueeze(0).expand({Hkv, kept}).contiguous();
  for (int l = 0; l < model.n_layers(); ++l) cache.keep_per_head(l, index);
  at::Tensor hidden = model.forward(at::tensor(std::vector<int64_t>(ids.begin() + split, ids.end()), at::kLong),
                                    at::arange(split, n, at::kLong), cache);
  at::Tensor logits = model.logits(hidden.narrow(0, hidden.size(0) - 1, 1)).squeeze(0);
  CHECK(max_abs_diff(p.first_logits, logits) < 1e-4);
  CHECK(p.first_token == logits.argmax().item<int64_t>());
  CHECK(p.cache_bytes == cache.live_bytes());

  // keep = 1 cuts nothing: the logits of an uncut two-part prefill, i.e. the full prompt's.
  claa::PrefillOutcome whole = claa::run_prefill(
      model, ids, claa::pipeline_from_json({{"method", "kvpress"}, {"heuristic", "streamingllm"}, {"keep", 1.0}}),
      inputs);
  claa::PrefillOutcome full = claa::run_prefill(model, ids, claa::pipeline_from_json({{"method", "full"}}));
  CHECK(max_abs_diff(whole.first_logits, full.first_logits) < 1e-3);
  CHECK(whole.first_token == full.first_token);
}

TEST_CASE("kvpress protocol: query-agnostic scores never see the question, query-aware ones do",
          "[pipelines][kvpress]") {
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = prompt_ids();
  const int64_t n = static_cast<int64_t>(ids.size());
  claa::PipelineInputs inputs;
  inputs.context_end = n - 24;
  // TOVA ranks by the last query's attention: the context's last token here, the prompt's last there.
  auto run = [&](const char* method) {
    return claa::run_prefill(
        model, ids, claa::pipeline_from_json({{"method", method}, {"heuristic", "tova"}, {"keep", 0.3}}), inputs);
  };
  claa::PrefillOutcome agnostic = run("kvpress"), aware = run("kvpress_query_aware");
  CHECK(agnostic.cache_kept[5].size(1) == static_cast<int64_t>(0.3 * static_cast<double>(n - 24)));
  CHECK(aware.cache_kept[5].size(1) == static_cast<int64_t>(0.3 * static_cast<double>(n - 1)));
  CHECK(agnostic.cache_kept[5].max().item<int64_t>() < n - 24);  // only context rows are cut and kept
  CHECK(claa::pipeline_from_json({{"method", "kvpress"}, {"heuristic", "tova"}}).resolved(30).label == "kvpress:tova");
  CHECK_THROWS_WITH(
      claa::run_prefill(model, ids, claa::pipeline_from_json({{"method", "kvpress"}, {"heuristic", "tova"}})),
      Catch::Contains("needs where the context ends"));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "kvpress"}}), Catch::Contains("needs a selection"));
}
