// One scoring path (heuristics/heuristic.h): a heuristic registered at run time — one file and one
// registry call, no other code — is evaluated in rank mode and drives the FastKV-style pipeline;
// and the method presets (fastkv, claa) are exactly fastkv_style with their heuristic.
#include <fstream>
#include <nlohmann/json.hpp>

#include "evaluation/ranking_eval.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"
#include "selection/budget.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

// A test-only heuristic: earlier tokens first (the opposite of recency), one ranking for every layer.
class EarliestFirst : public claa::Heuristic {
 public:
  std::string name() const override { return "test_earliest_first"; }
  claa::CaptureNeeds needs() const override { return {}; }
  claa::LayerScores score_layer(const claa::HeuristicInput& in, int) const override {
    at::Tensor score = -at::arange(in.capture.n_prompt, at::kFloat);
    return {score.unsqueeze(0), score, {}};
  }
};

void register_test_heuristic() {
  static bool done = false;
  if (done) return;
  claa::register_heuristic({"test_earliest_first", "test only: earlier tokens first", nlohmann::json::object(),
                            [](const nlohmann::json&) { return std::make_unique<EarliestFirst>(); }});
  done = true;
}

std::vector<int64_t> needle_prompt() {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  return ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
}

std::vector<int64_t> ids_of(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

TEST_CASE("A heuristic registered at run time works in rank mode", "[pipelines][registry]") {
  register_test_heuristic();
  claa::OracleCapture c;
  c.n_prompt = 5;
  c.layers.resize(3);
  c.oracle = at::tensor(std::vector<float>{5, 4, 3, 2, 1});  // exactly the test heuristic's order
  claa::EvalOptions options;
  options.keep_rates = {0.4};
  claa::HeuristicEval e = claa::evaluate_heuristic(*claa::make_heuristic("test_earliest_first"), c, options);
  REQUIRE(e.layers.size() == 3);
  for (const claa::RankingMetrics& m : e.layers) {
    CHECK(m.spearman == Approx(1.0));
    CHECK(m.recall[0] == Approx(1.0));
  }
  CHECK_THROWS_WITH(claa::register_heuristic({"fastkv", "", {}, nullptr}), Catch::Contains("already registered"));
}

TEST_CASE("A heuristic registered at run time drives the FastKV-style pipeline", "[pipelines][registry]") {
  register_test_heuristic();
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = needle_prompt();
  const int64_t n = static_cast<int64_t>(ids.size()), budget = claa::budget_tokens(0.1, n, 8);
  claa::PipelineConfig c = claa::pipeline_from_json(
      {{"method", "fastkv_style"}, {"heuristic", "test_earliest_first"}, {"keep", 0.1}, {"cache_scores", "selection"}});
  CHECK(c.resolved(model.n_layers()).label == "fastkv_style:test_earliest_first");
  claa::PrefillOutcome p = claa::run_prefill(model, ids, c);
  // The first C − W tokens by the heuristic's ranking, plus the forced window of W = 8.
  std::vector<int64_t> want;
  for (int64_t j = 0; j < budget - 8; ++j) want.push_back(j);
  for (int64_t j = n - 8; j < n; ++j) want.push_back(j);
  CHECK(ids_of(p.kept) == want);
  // cache_scores "selection": every layer's decode cache keeps the same tokens, per KV head.
  for (int l = 0; l <= model.n_layers() / 2 - 1; ++l) {
    INFO("layer " << l);
    REQUIRE(p.cache_kept[l].defined());
    for (int64_t g = 0; g < p.cache_kept[l].size(0); ++g) CHECK(ids_of(p.cache_kept[l][g]) == want);
  }
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "fastkv_style"}}), Catch::Contains("needs a selection"));
  CHECK_THROWS_WITH(claa::pipeline_from_json({{"method", "fastkv_style"}, {"heuristic", "test_earliest_frist"}}),
                    Catch::Contains("did you mean 'test_earliest_first'"));
}

TEST_CASE("The fastkv and claa presets are fastkv_style with their heuristics", "[pipelines][registry]") {
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = needle_prompt();
  for (const char* name : {"fastkv", "claa"}) {
    INFO(name);
    claa::PipelineConfig preset = claa::pipeline_from_json({{"method", name}, {"keep", 0.1}});
    nlohmann::json generic = {{"method", "fastkv_style"}, {"heuristic", name}, {"keep", 0.1}};
    if (std::string(name) == "claa") generic["first_compressed_layer"] = 4;
    claa::PrefillOutcome a = claa::run_prefill(model, ids, preset);
    claa::PrefillOutcome b = claa::run_prefill(model, ids, claa::pipeline_from_json(generic));
    CHECK(at::equal(a.kept, b.kept));
    CHECK(at::equal(a.first_logits, b.first_logits));
  }
}

TEST_CASE("AdaKV's pipeline gives each KV head its own decode-cache budget", "[pipelines][cache]") {
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = needle_prompt();
  const int64_t n = static_cast<int64_t>(ids.size()), budget = claa::budget_tokens(0.1, n, 8);
  const int64_t Hkv = model.config().n_kv_heads, d = model.config().head_dim;
  claa::PrefillOutcome p = claa::run_prefill(
      model, ids,
      claa::pipeline_from_json(
          {{"method", "fastkv_style"}, {"heuristic", "adakv"}, {"keep", 0.1}, {"cache_scores", "selection"}}));
  int64_t kept_rows = 0, ragged_layers = 0;
  for (int l = 0; l < model.n_layers(); ++l) {
    INFO("layer " << l);
    if (!p.cache_kept[l].defined()) {  // layers past l_p cache the C tokens they process
      kept_rows += Hkv * budget;
      continue;
    }
    // H_kv·C slots in all, split over the heads; every head keeps the window and at least its
    // safeguard ⌊0.2·(C − W)⌋; −1 pads the shorter heads.
    const at::Tensor k = p.cache_kept[l];
    const at::Tensor counts = (k >= 0).sum(1);
    CHECK(counts.sum().item<int64_t>() == Hkv * budget);
    CHECK(counts.min().item<int64_t>() >= 8 + (budget - 8) / 5);
    ragged_layers += counts.max().item<int64_t>() != counts.min().item<int64_t>();
    kept_rows += counts.sum().item<int64_t>();
    for (int64_t g = 0; g < Hkv; ++g) {
      const at::Tensor row = k[g].narrow(0, 0, counts[g].item<int64_t>());
      CHECK(row.narrow(0, row.numel() - 8, 8).equal(at::arange(n - 8, n, at::kLong)));  // the window, last
    }
  }
  CHECK(ragged_layers > 0);  // the point: the heads' shares differ
  // The reported cache size counts kept rows, not the padding.
  const int64_t row_bytes = 2 * d * 4;
  CHECK(p.cache_bytes == kept_rows * row_bytes);
}

TEST_CASE("PyramidKV's pipeline spends the uniform methods' total decode cache", "[pipelines][cache]") {
  // The pyramid shares of layers m..l_p sum to what those layers keep under a uniform budget
  // (KVCache-Factory's integer steps round up by at most (L' − 1)/2 rows); layers past l_p hold the
  // C propagated tokens either way. Before, the pyramid spanned all L layers and m..l_p got its
  // bottom (above-average) shares: about 24% more cache on SmolLM2.
  const claa::Transformer& model = *default_model().model;
  const std::vector<int64_t> ids = needle_prompt();
  const int64_t Hkv = model.config().n_kv_heads;
  auto total_rows = [&](const char* heuristic, double keep) {
    claa::PrefillOutcome p = claa::run_prefill(
        model, ids,
        claa::pipeline_from_json(
            {{"method", "fastkv_style"}, {"heuristic", heuristic}, {"keep", keep}, {"cache_scores", "selection"}}));
    int64_t rows = 0;
    for (int l = 0; l < model.n_layers(); ++l)
      rows += p.cache_kept[l].defined() ? (p.cache_kept[l] >= 0).sum().item<int64_t>() : Hkv * p.kept.numel();
    return std::pair<int64_t, claa::PrefillOutcome>(rows, std::move(p));
  };
  for (double keep : {0.1, 0.2, 0.4}) {
    INFO("keep " << keep);
    auto [uniform, u] = total_rows("snapkv", keep);
    auto [pyramid, p] = total_rows("pyramidkv", keep);
    CHECK(std::abs(static_cast<double>(pyramid) / uniform - 1) < 0.01);
    // Still a pyramid: the first compressed layer keeps more than the last.
    const int lp = model.n_layers() / 2 - 1;
    CHECK((p.cache_kept[0][0] >= 0).sum().item<int64_t>() > (p.cache_kept[lp][0] >= 0).sum().item<int64_t>());
    CHECK(u.kept.numel() == p.kept.numel());  // the propagated set is C tokens either way
  }
}
