// KVzip against tools/hf_reference_kvzip.py: kvpress's algorithm (kvzip_press.py) run with HF
// transformers' own model and DynamicCache (eager fp32, the same GGUF) on the needle_a prompt, with
// chunks of 512 tokens so the ~1.2K-token prompt takes three reconstruction passes. The frame (chat
// prefix length, suffix and request ids) must match exactly; the scores per layer and KV head as values:
// max |ours − ref| / max |ref| ≤ 1e-4 (measured: 1.35e-5 with the maxima computed inside the fused CPU
// attention, 1.26e-5 with the explicit path; fp32 reassociation through 30 layers of two models).
#include <fstream>
#include <nlohmann/json.hpp>

#include "evaluation/ranking_eval.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "heuristics/kvzip.h"
#include "model/model_tokenizer.h"
#include "selection/budget.h"
#include "selection/selection.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tests/tensor_fixture.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace {

struct KVzipReference : TensorFixture {
  KVzipReference() : TensorFixture("tests/fixtures/model/kvzip_reference") {}
  std::vector<float> heads(int layer) const { return get("kvzip_heads/" + std::to_string(layer)); }
};

double normalised_error(const std::vector<float>& ours, const std::vector<float>& ref) {
  double scale = 0, worst = 0;
  for (float r : ref) scale = std::max(scale, static_cast<double>(std::abs(r)));
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - ref[i]));
  return worst / scale;
}

}  // namespace

TEST_CASE("KVzip's frame and scores match the HF reconstruction of kvpress's algorithm", "[oracle][reference][kvzip]") {
  const KVzipReference ref;
  const claa::LoadedModel& m = default_model();
  const auto tok = claa::model_tokenizer(m);
  const claa::ChatTemplate chat = claa::ChatTemplate::detect(tok->chat_template());
  const claa::PromptFormat format{tok.get(), &chat};
  const std::vector<int64_t> ids = ref.index["input_ids"].get<std::vector<int64_t>>();

  const claa::ReconstructionFrame f = claa::reconstruction_frame(format, ids);
  const nlohmann::json& want = ref.index["frame"];
  CHECK(f.context_begin == want["context_begin"].get<int64_t>());
  CHECK(f.context_end == want["context_end"].get<int64_t>());
  CHECK(f.suffix == want["suffix"].get<std::vector<int64_t>>());
  CHECK(f.first_request == want["first_request"].get<std::vector<int64_t>>());
  CHECK(f.later_request == want["later_request"].get<std::vector<int64_t>>());

  auto kvzip = claa::make_heuristic("kvzip", {{"chunk_size", ref.index["chunk_size"]}});
  const claa::CaptureResult unused;  // KVzip reruns the prompt itself
  const claa::HeuristicScores s = kvzip->score({unused, 0, &ids, m.model.get(), &format});
  REQUIRE(static_cast<int>(s.per_head.size()) == m.model->n_layers());
  double worst = 0;
  for (int l = 0; l < m.model->n_layers(); ++l) {
    INFO("layer " << l);
    const std::vector<float> want_heads = ref.heads(l);
    const std::vector<float> ours = claa::to_float_vector(s.per_head[l]);
    REQUIRE(ours.size() == want_heads.size());
    const double error = normalised_error(ours, want_heads);
    worst = std::max(worst, error);
    CHECK(error <= 1e-4);
    // The layer's ranking: the max over KV heads (the order tokens enter the union of the head caches).
    const int64_t n = static_cast<int64_t>(ids.size()), heads = static_cast<int64_t>(want_heads.size()) / n;
    std::vector<float> want_max(n, 0.0f);
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < n; ++j) want_max[j] = std::max(want_max[j], want_heads[h * n + j]);
    CHECK(normalised_error(claa::to_float_vector(s.combined[l]), want_max) <= 1e-4);
  }
  WARN("kvzip: worst normalised |Δ| vs HF = " << worst);

  // Rank mode hands KVzip the capture's prompt cache instead of letting it prefill the context again:
  // the same keys and values up to fp32 reassociation (a prefill of the whole prompt vs of its context).
  claa::CaptureOptions options;
  options.extra = kvzip->needs();
  REQUIRE(options.extra.prompt_cache);
  options.max_new_tokens = 2;
  const claa::CaptureResult captured = claa::capture_prompt(*m.model, ids, options);
  REQUIRE(captured.prompt_cache != nullptr);
  CHECK(captured.prompt_cache->length(0) == static_cast<int64_t>(ids.size()));
  const claa::HeuristicScores reused = kvzip->score({captured, 0, &ids, m.model.get(), &format});
  double reuse_worst = 0;
  for (int l = 0; l < m.model->n_layers(); ++l)
    reuse_worst = std::max(
        reuse_worst, normalised_error(claa::to_float_vector(reused.per_head[l]), claa::to_float_vector(s.per_head[l])));
  CHECK(reuse_worst <= 1e-5);
  WARN("kvzip: worst normalised |Δ| from the capture's prompt cache vs its own prefill = " << reuse_worst);
}

TEST_CASE("KVzip says what it lacks instead of scoring without a tokenizer", "[heuristics][kvzip]") {
  const claa::LoadedModel& m = default_model();
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const claa::CaptureResult unused;
  auto kvzip = claa::make_heuristic("kvzip");
  CHECK_THROWS_WITH(kvzip->score({unused, 0, &ids, m.model.get(), nullptr}),
                    Catch::Contains("needs the model's tokenizer"));
  CHECK_THROWS_WITH(kvzip->score({unused}), Catch::Contains("needs the model and the prompt ids"));
  CHECK_THROWS_WITH(claa::make_heuristic("kvzip", {{"chunk_size", 0}}), Catch::Contains("chunk_size must be >= 1"));
}

TEST_CASE("KVzip on a raw prompt reconstructs all of it and keeps only the sinks fixed", "[heuristics][kvzip]") {
  const claa::LoadedModel& m = default_model();
  const auto tok = claa::model_tokenizer(m);
  const claa::PromptFormat raw{tok.get(), nullptr};
  std::vector<int32_t> ids32 = tok->encode("The cat sat on the mat. The dog slept by the door. Birds sang outside.");
  const std::vector<int64_t> ids(ids32.begin(), ids32.end());
  const claa::ReconstructionFrame f = claa::reconstruction_frame(raw, ids);
  CHECK(f.context_begin == 0);
  CHECK(f.context_end == static_cast<int64_t>(ids.size()));
  CHECK(f.suffix == std::vector<int64_t>{tok->encode("\n")[0]});
  const claa::CaptureResult unused;
  // Chunks of 5 tokens: the later requests carry the previous chunk's last tokens.
  const claa::HeuristicScores s =
      claa::make_heuristic("kvzip", {{"chunk_size", 5}})->score({unused, 0, &ids, m.model.get(), &raw});
  for (const at::Tensor& rows : s.per_head) {
    const at::Tensor r = rows.cpu();
    CHECK(r.size(1) == static_cast<int64_t>(ids.size()));
    // The chunk starting at 0 has no sinks of its own, so kvpress's 1.0 on the first 4 is overwritten
    // by computed probabilities: every score is a probability, and they differ.
    CHECK(r.min().item<float>() >= 0.0f);
    CHECK(r.max().item<float>() <= 1.0f);
    CHECK(r.std().item<float>() > 1e-3f);
  }
}

TEST_CASE("KVzip drives the FastKV-style pipeline with its rank-mode ranking", "[pipelines][kvzip]") {
  const claa::LoadedModel& m = default_model();
  const auto tok = claa::model_tokenizer(m);
  const claa::ChatTemplate chat = claa::ChatTemplate::detect(tok->chat_template());
  const claa::PromptFormat format{tok.get(), &chat};
  const KVzipReference ref;
  const std::vector<int64_t> ids = ref.index["input_ids"].get<std::vector<int64_t>>();
  const int64_t n = static_cast<int64_t>(ids.size()), budget = claa::budget_tokens(0.1, n, 8);
  const nlohmann::json params = {{"chunk_size", 512}};
  claa::PipelineInputs inputs;
  inputs.format = &format;
  const claa::PrefillOutcome p = claa::run_prefill(
      *m.model, ids,
      claa::pipeline_from_json(
          {{"method", "fastkv_style"}, {"heuristic", {{"name", "kvzip"}, {"params", params}}}, {"keep", 0.1}}),
      inputs);
  // The tokens propagated at l_p = L/2 − 1 are the window plus the top C − W of KVzip's ranking there.
  const claa::CaptureResult unused;
  const claa::HeuristicScores s =
      claa::make_heuristic("kvzip", params)->score({unused, 0, &ids, m.model.get(), &format});
  const at::Tensor want = claa::keep_window_plus_top(s.combined[m.model->n_layers() / 2 - 1], n, budget, 8);
  CHECK(at::equal(p.kept, want.cpu()));
  CHECK_THROWS_WITH(
      claa::run_prefill(*m.model, ids, claa::pipeline_from_json({{"method", "fastkv_style"}, {"heuristic", "kvzip"}})),
      Catch::Contains("needs the model's tokenizer"));
}
