// NaN/Inf in scores or in the oracle (fp16/bf16 overflow on long prompts): detected where every
// comparison happens (compare_rankings), written per sample × heuristic × layer, listed in the
// report and never averaged into a summary.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "evaluation/metrics.h"
#include "reports/aggregate.h"
#include "reports/report_writers.h"
#include "tests/catch.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("compare_rankings counts NaN/Inf in either input and computes nothing from them", "[reports][nonfinite]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  claa::RankingMetrics ok = claa::compare_rankings({1, 2, 3, 4}, {1, 2, 3, 4}, {0.5});
  CHECK(ok.finite());
  CHECK(ok.spearman == Approx(1.0));
  claa::RankingMetrics bad = claa::compare_rankings({1, nan, 3, inf}, {1, 2, 3, -inf}, {0.5});
  CHECK(bad.nonfinite == 2);
  CHECK(bad.oracle_nonfinite == 1);
  CHECK_FALSE(bad.finite());
  CHECK(bad.recall.empty());  // no metric computed from garbage
}

TEST_CASE("a non-finite layer is listed in the report and left out of every average", "[reports][nonfinite]") {
  const std::string fixture = source_path("tests/fixtures/reports/small_run/samples.jsonl");
  const claa::RunAggregate clean = claa::aggregate_samples(claa::load_samples({fixture}), {});

  // The same run with sample a-0000's alpha layer 1 overflowed (as the runner writes it).
  const fs::path dir = fs::temp_directory_path() / ("claa_nonfinite_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "samples.jsonl").string();
  std::ofstream out(path);
  std::istringstream lines(read_all(fixture));
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json rec = nlohmann::json::parse(line);
    if (rec["id"] == "a-0000") rec["heuristics"]["alpha"]["layers"][1] = {{"n", 100}, {"nonfinite", 3}, {"oracle_nonfinite", 0}};
    out << rec.dump() << "\n";
  }
  out.close();
  const claa::RunAggregate agg = claa::aggregate_samples(claa::load_samples({path}), {});

  REQUIRE(agg.nonfinite.size() == 1);
  CHECK(agg.nonfinite[0] == "a-0000: heuristic alpha, layer 1: 3 NaN/Inf scores, 0 NaN/Inf oracle values");
  size_t alpha = 0;
  while (agg.heuristics[alpha].name != "alpha") ++alpha;
  const int rho = agg.metric_index("spearman");
  // Dataset a's layer-1 mean now comes from its other samples only, and is a finite number.
  bool found = false;
  for (size_t s = 0; s < agg.scopes.size(); ++s) {
    if (agg.scopes[s].name != clean.scopes[s].name || agg.scopes[s].kind != "dataset") continue;
    const auto& now = agg.scopes[s].heuristics[alpha].layers[1][rho];
    const auto& was = clean.scopes[s].heuristics[alpha].layers[1][rho];
    if (now.n == was.n) continue;
    found = true;
    CHECK(now.n == was.n - 1);
    CHECK(std::isfinite(now.mean));
  }
  CHECK(found);
  CHECK(claa::summary_json(agg)["nonfinite"].size() == 1);
  const std::string md = claa::report_markdown(agg, {});
  CHECK_THAT(md, Catch::Contains("## Non-finite scores (NaN/Inf)"));
  CHECK_THAT(md, Catch::Contains("a-0000: heuristic alpha, layer 1"));
}
