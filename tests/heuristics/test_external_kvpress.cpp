// kvpress presses through the worker (python/claa_worker/kvpress_worker.py: the press's own score()
// on an HF attention module rebuilt from claa's weights) against claa's native heuristics on SmolLM2:
// per layer ρ ≥ 0.9999 for SnapKV, KNorm, TOVA and Expected Attention at kvpress's parameters.
// Needs a Python with torch, transformers and kvpress: $CLAA_KVPRESS_PYTHON, else
// ~/.venvs/kvpress/bin/python (docs/reference.md "External heuristics" says how to make it). Without
// one each test prints "CLAA-SKIP: ..." and CTest reports it as skipped (CMakeLists.txt).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "capture/capture.h"
#include "evaluation/metrics.h"
#include "heuristics/heuristic.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

std::vector<float> vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The kvpress interpreter, or "" (then the reason is printed as CLAA-SKIP).
std::string kvpress_python() {
  const char* env = std::getenv("CLAA_KVPRESS_PYTHON");
  const char* home = std::getenv("HOME");
  const std::string python = env && *env ? env : std::string(home ? home : "") + "/.venvs/kvpress/bin/python";
  if (std::filesystem::exists(python) &&
      std::system((python + " -c 'import kvpress, numpy, transformers' > /dev/null 2>&1").c_str()) == 0)
    return python;
  std::cout << "CLAA-SKIP: no Python with kvpress at " << python
            << " (set CLAA_KVPRESS_PYTHON; docs/reference.md \"External heuristics\")\n";
  return "";
}

// Per layer ρ between a kvpress press run by the worker and a native heuristic, on one 1K-token
// prompt of SmolLM2 (ids of a natural-looking text are not needed: both score the same capture).
void check_parity(const std::string& press, const std::string& native_spec) {
  const std::string python = kvpress_python();
  if (python.empty()) return;
  auto worker = claa::make_heuristic("kvpress", {{"target", press}, {"python", python}});
  auto native = claa::make_heuristic(claa::parse_heuristic_spec(native_spec));
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 1024; ++i) ids.push_back(1 + (i * 7919) % 40000);
  claa::CaptureOptions options;
  options.max_new_tokens = 1;
  options.extra |= worker->needs();
  options.extra |= native->needs();
  const claa::Transformer& model = *default_model().model;
  const claa::CaptureResult c = claa::capture_prompt(model, ids, options);
  const claa::HeuristicInput in{c, 0, &ids, &model};
  const claa::HeuristicScores a = worker->score(in), b = native->score(in);
  REQUIRE(a.combined.size() == b.combined.size());
  double worst = 1;
  for (size_t l = 0; l < a.combined.size(); ++l) {
    // Both rank the positions before the capture's forced window (N − W); spearman cuts to the shorter.
    const double rho = claa::spearman(vec(a.combined[l]), vec(b.combined[l]));
    INFO(press << " vs " << native_spec << ", layer " << l << ": rho " << rho);
    CHECK(rho >= 0.9999);
    worst = std::min(worst, rho);
  }
  WARN("kvpress " << press << " vs " << native_spec << ": worst per-layer rho " << std::setprecision(8) << worst);
}

}  // namespace

TEST_CASE("kvpress SnapKVPress through the worker agrees with snapkv@kvpress per layer", "[external][kvpress_worker]") {
  check_parity("SnapKVPress(window_size=64,kernel_size=5)", "snapkv{window=64,kernel=5,pooling=avgpool}");
}

TEST_CASE("kvpress KnormPress through the worker agrees with knorm per layer", "[external][kvpress_worker]") {
  check_parity("KnormPress()", "knorm");
}

TEST_CASE("kvpress TOVAPress through the worker agrees with tova per layer", "[external][kvpress_worker]") {
  check_parity("TOVAPress()", "tova");
}

TEST_CASE("kvpress ExpectedAttentionPress through the worker agrees with expected_attention per layer",
          "[external][kvpress_worker]") {
  check_parity("ExpectedAttentionPress()", "expected_attention@kvpress");
}

TEST_CASE("kvpress presses that cannot be scored are refused at start-up with the reason",
          "[external][kvpress_worker]") {
  const std::string python = kvpress_python();
  if (python.empty()) return;
  auto refused = [&](const std::string& press) {
    try {
      claa::make_heuristic("kvpress", {{"target", press}, {"python", python}})->needs();
    } catch (const claa::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refused("AdaKVPress(SnapKVPress())"),
             Catch::Contains("heuristic 'kvpress:AdaKVPress(SnapKVPress())' at start-up: the worker failed: TypeError: "
                             "AdaKVPress is not a ScorerPress"));
  CHECK_THAT(refused("QFilterPress()"),
             Catch::Contains("QFilterPress cannot be scored by claa: it needs its trained Q-filters"));
  CHECK_THAT(refused("CriticalKVPress(press=ObservedAttentionPress())"),
             Catch::Contains("ObservedAttentionPress cannot be scored by claa: it reads the eager attention matrix"));
  CHECK_THAT(refused("NoSuchPress()"), Catch::Contains("NameError: name 'NoSuchPress' is not defined"));
}
