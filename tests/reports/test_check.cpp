// `claa check`: baseline extraction and the regression comparison on tests/fixtures/reports/small_run
// (see test_aggregate.cpp for its numbers; overall alpha ρ: layer 0 0.3667, layer 1 0.6).
#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "reports/aggregate.h"
#include "reports/regression_check.h"
#include "reports/report_writers.h"
#include "tests/catch.h"

using namespace claa;
using nlohmann::json;

namespace {

const std::string kRun = source_path("tests/fixtures/reports/small_run");
const std::string kBaseline = source_path("tests/fixtures/reports/small_baseline.json");

json baseline_of(const std::vector<SampleRecord>& samples) {
  AggregateOptions options;
  return json(make_baseline(aggregate_samples(samples, options)));
}

std::vector<SampleRecord> fixture_samples() { return load_samples({kRun + "/samples.jsonl"}); }

// Shift alpha's ρ on `layer` in every ranked sample (so every dataset mean moves by `delta`).
std::vector<SampleRecord> shift_alpha_rho(double delta, int layer) {
  std::vector<SampleRecord> samples = fixture_samples();
  for (SampleRecord& s : samples)
    for (HeuristicRecord& h : s.heuristics)
      if (h.name == "alpha") h.layers[layer].spearman += delta;
  return samples;
}

}  // namespace

TEST_CASE("check: identical input passes and counts every comparison", "[reports][check]") {
  const json base = baseline_of(fixture_samples());
  const CheckResult r = check_against_baseline(base, base);
  CHECK(r.passed());
  // 2 heuristics × 2 layers × (ρ + recall@0.1 + recall@0.5) + 6 task scores (overall, 2 categories, 3 datasets).
  CHECK(r.comparisons == 18);
  CHECK(format_check(r) ==
        "check passed: 18 comparisons within tolerance (tolerances: ρ 0.02, recall 0.02, task score 5)\n");
}

TEST_CASE("check: the committed baseline fixture matches the run and its format", "[reports][check]") {
  const json committed = load_baseline(kBaseline);
  CHECK(committed["format"] == "claa-baseline");
  CHECK(committed["heuristics"]["alpha"]["spearman"][1].get<double>() == Approx(0.6));
  const json now(make_baseline(aggregate_run_dir(kRun)));
  CHECK(check_against_baseline(committed, now).passed());
  CHECK(committed == now);  // the extract format is stable (regenerate the fixture if it changes on purpose)
}

TEST_CASE("check: a worsened ρ fails with heuristic, layer, metric, baseline → now and delta", "[reports][check]") {
  const json base = baseline_of(fixture_samples());
  const CheckResult r = check_against_baseline(base, baseline_of(shift_alpha_rho(-0.1, 1)));
  CHECK(!r.passed());
  REQUIRE(r.regressions.size() == 1);
  CHECK(r.regressions[0] == "MOVED DOWN  alpha layer 1 spearman: 0.6000 → 0.5000 (Δ -0.1000, tolerance 0.02)");
  const std::string text = format_check(r);
  CHECK(text.find("check failed: 1 change(s) beyond tolerance in 18 comparisons") != std::string::npos);
  CHECK(text.find("--write-baseline") != std::string::npos);  // how to update the baseline on purpose
}

TEST_CASE("check: tolerances, and a rise beyond them fails like a drop", "[reports][check]") {
  const json base = baseline_of(fixture_samples());
  CHECK(check_against_baseline(base, baseline_of(shift_alpha_rho(-0.01, 0))).passed());  // within 0.02
  CHECK(check_against_baseline(base, baseline_of(shift_alpha_rho(0.01, 0))).passed());
  CheckOptions strict;
  strict.tol_rho = 0.005;
  CHECK(!check_against_baseline(base, baseline_of(shift_alpha_rho(-0.01, 0)), strict).passed());
  CHECK(!check_against_baseline(base, baseline_of(shift_alpha_rho(0.01, 0)), strict).passed());

  const CheckResult better = check_against_baseline(base, baseline_of(shift_alpha_rho(0.1, 0)));
  CHECK(!better.passed());
  REQUIRE(better.regressions.size() == 1);
  CHECK(better.regressions[0] == "MOVED UP    alpha layer 0 spearman: 0.3667 → 0.4667 (Δ +0.1000, tolerance 0.02)");
  CHECK(format_check(better).find("check failed: 1 change(s) beyond tolerance in 18 comparisons") != std::string::npos);
}

TEST_CASE("check: two CPU runs are compared near-exactly unless a tolerance is given", "[reports][check]") {
  json base = baseline_of(fixture_samples()), moved = baseline_of(shift_alpha_rho(0.002, 1));
  base["source"]["device"] = "cpu";
  moved["source"]["device"] = "cpu";
  const CheckResult exact = check_against_baseline(base, moved);
  CHECK(exact.tol_rho == 1e-3);
  REQUIRE(exact.regressions.size() == 1);
  CHECK(exact.regressions[0] == "MOVED UP    alpha layer 1 spearman: 0.6000 → 0.6020 (Δ +0.0020, tolerance 0.001)");
  // Rounding between hosts (2e-4 measured, docs/method.md) passes.
  json rounded = baseline_of(shift_alpha_rho(0.0002, 1));
  rounded["source"]["device"] = "cpu";
  CHECK(check_against_baseline(base, rounded).passed());
  CheckOptions loose;
  loose.tol_rho = 0.02;
  CHECK(check_against_baseline(base, moved, loose).passed());
  moved["source"]["device"] = "cuda";  // a GPU side is not byte-identical: the wider defaults apply
  CHECK(check_against_baseline(base, moved).passed());
}

TEST_CASE("check: recall and task-score drops fail", "[reports][check]") {
  const json base = baseline_of(fixture_samples());
  std::vector<SampleRecord> samples = fixture_samples();
  for (SampleRecord& s : samples) {
    for (HeuristicRecord& h : s.heuristics)
      if (h.name == "beta") h.layers[0].recall[1] -= 0.05;
    if (s.dataset == "longbench:c") s.score -= 20;  // dataset 40 → 20; overall −6.67; QA −20
  }
  const CheckResult r = check_against_baseline(base, baseline_of(samples));
  const std::string text = format_check(r);
  CHECK(text.find("MOVED DOWN  beta layer 0 recall@0.5:") != std::string::npos);
  CHECK(text.find("MOVED DOWN  task score dataset:longbench:c: 40.0000 → 20.0000 (Δ -20.0000, tolerance 5)") !=
        std::string::npos);
  CHECK(text.find("MOVED DOWN  task score overall:") != std::string::npos);
  CHECK(text.find("MOVED DOWN  task score category:QA:") != std::string::npos);
  CHECK(r.regressions.size() == 4);
}

TEST_CASE("check: a missing heuristic or layer is flagged, a new one is a note", "[reports][check]") {
  json base = baseline_of(fixture_samples());
  std::vector<SampleRecord> samples = fixture_samples();
  for (SampleRecord& s : samples)
    for (HeuristicRecord& h : s.heuristics)
      if (h.name == "beta") h.name = "beta_v2";
  CheckOptions options;
  options.suggest = [](const std::string&, const std::vector<std::string>&) { return std::string("beta_v2"); };
  const CheckResult r = check_against_baseline(base, baseline_of(samples), options);
  CHECK(!r.passed());
  REQUIRE(r.regressions.size() == 1);
  CHECK(r.regressions[0] ==
        "MISSING     heuristic 'beta': in the baseline, not in this run (run has: alpha, beta_v2); did you mean 'beta_v2'?");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0] == "new         heuristic 'beta_v2' (not in the baseline)");

  json fewer = base;
  fewer["heuristics"]["alpha"]["spearman"].erase(1);
  const CheckResult layers = check_against_baseline(base, fewer);
  REQUIRE(layers.regressions.size() == 1);
  CHECK(layers.regressions[0] == "MISSING     alpha layer 1 spearman: in the baseline, not in this run");
}

TEST_CASE("check: summary.json is accepted as a baseline, other files are not", "[reports][check]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  const std::string path = (std::filesystem::temp_directory_path() / "claa_test_summary_baseline.json").string();
  write_text_file(path, summary_json(agg).dump(2));
  CHECK(load_baseline(path) == json(make_baseline(agg)));
  write_text_file(path, "{\"format\": \"something-else\"}");
  CHECK_THROWS_WITH(load_baseline(path), Catch::Contains("not a claa baseline"));
  std::filesystem::remove(path);
}

TEST_CASE("check: provenance of both sides, unknown where an old baseline lacks a field", "[reports][check]") {
  // An old baseline: git commit, and the model block as one JSON string holding its fingerprint.
  const nlohmann::json old_baseline = {
      {"git_commit", "4711cba"}, {"model", R"({"fingerprint":"fnv1a64:119cdcb571abd979","format":"gguf"})"}};
  const nlohmann::json run = {{"git_commit", "abcdef0"}, {"git_dirty", "false"},        {"libtorch", "1.13.1"},
                              {"device", "cpu"},         {"dtype", "fp32"},             {"dataset_samples", "fnv1a64:1"},
                              {"model", {{"fingerprint", "fnv1a64:119cdcb571abd979"}}}};
  const std::string table = claa::format_provenance(old_baseline, claa::provenance_of_run(run));
  INFO(table);
  CHECK_THAT(table, Catch::Contains("git_commit"));
  CHECK_THAT(table, Catch::Contains("4711cba"));
  CHECK_THAT(table, Catch::Contains("abcdef0   (differs)"));
  CHECK_THAT(table, Catch::Contains("unknown"));  // the old baseline has no libtorch, dtype, ...
  CHECK(table.find("fnv1a64:119cdcb571abd979   (differs)") == std::string::npos);  // same model on both sides
  CHECK(std::count(table.begin(), table.end(), '\n') == 8);  // header + 7 fields
}
