// Predictive validity and the both-mode report on tests/fixtures/reports/both_run (a real both-mode run of
// configs/ci_both.json), held to tools/validity_reference.py's independent recomputation with scipy
// (validity_reference.json) within 1e-9, plus hand-made cases of the rules.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "reports/record_fields.h"
#include "reports/report_writers.h"
#include "reports/run_reports.h"
#include "reports/validity.h"
#include "tests/catch.h"
#include "tests/reports/reports_test_util.h"

namespace fs = std::filesystem;
using namespace claa;

namespace {

const std::string kBothRun = source_path("tests/fixtures/reports/both_run");

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

ValidityAnalysis fixture_analysis() {
  ResamplingOptions o;
  o.bootstrap_resamples = 200;
  return analyse_validity(load_both_samples({kBothRun + "/samples.jsonl"}), o);
}

}  // namespace

TEST_CASE("Validity numbers equal an independent scipy recomputation from samples.jsonl", "[reports][validity]") {
  const ValidityAnalysis v = fixture_analysis();
  const nlohmann::json ref = read_json(kBothRun + "/validity_reference.json");
  REQUIRE(ref["metrics"].size() == v.metrics.size());
  REQUIRE(v.cells.size() == ref["meta"]["cells"].size());
  for (size_t c = 0; c < v.cells.size(); ++c) {
    CHECK(v.cells[c].first == ref["meta"]["cells"][c][0].get<std::string>());
    CHECK(v.cells[c].second == ref["meta"]["cells"][c][1].get<double>());
  }
  int compared = 0;
  for (const auto& r : ref["metrics"]) {
    const MetricValidity* m = nullptr;
    for (const MetricValidity& x : v.metrics)
      if (x.name == r["metric"].get<std::string>()) m = &x;
    REQUIRE(m != nullptr);
    INFO(m->name);
    CHECK(m->samples == r["samples"].get<int64_t>());
    if (r["rho_across_cells"].is_null())
      CHECK(std::isnan(m->rho));
    else
      CHECK(std::abs(m->rho - r["rho_across_cells"].get<double>()) <= 1e-9);
    if (r["auc_within_cells"].is_null())
      CHECK(std::isnan(m->auc));
    else
      CHECK(std::abs(m->auc - r["auc_within_cells"].get<double>()) <= 1e-9);
    if (r["rho_across_methods_per_keep"].is_null())
      CHECK(std::isnan(m->rho_per_keep));
    else
      CHECK(std::abs(m->rho_per_keep - r["rho_across_methods_per_keep"].get<double>()) <= 1e-9);
    for (size_t c = 0; c < m->cells.size(); ++c) {
      CHECK(std::abs(m->cells[c].metric - r["cell_metric"][c].get<double>()) <= 1e-9);
      CHECK(std::abs(m->cells[c].score - r["cell_score"][c].get<double>()) <= 1e-9);
    }
    ++compared;
  }
  CHECK(compared >= 10);  // every base metric at l_p and as a layer mean (evidence recall: niah has spans)
  // Ranked best first; the intervals bracket their point estimates.
  for (size_t i = 1; i < v.metrics.size(); ++i)
    if (std::isfinite(v.metrics[i].rho)) CHECK(v.metrics[i - 1].rho >= v.metrics[i].rho);
  for (const MetricValidity& m : v.metrics)
    if (std::isfinite(m.rho) && m.rho_ci.resamples > 0)
      CHECK((m.rho_ci.low <= m.rho + 1e-12 && m.rho <= m.rho_ci.high + 1e-12));
}

TEST_CASE("The both-mode report leads with the validity table and keeps the e2e tables", "[reports][validity]") {
  test::TempDir dir("both_report");
  for (const char* f : {"samples.jsonl", "run.json"}) fs::copy_file(fs::path(kBothRun) / f, dir.path / f);
  write_run_reports(dir.path.string(), {}, ReportOptions{false});
  const nlohmann::json summary = read_json((dir.path / "summary.json").string());
  CHECK(summary["mode"] == "both");
  CHECK(summary["format"] == "claa-e2e-summary");
  const ValidityAnalysis v = fixture_analysis();
  CHECK(summary["validity"]["lead_metric"] == v.metrics.front().name);
  CHECK(summary["validity"]["metrics"].size() == v.metrics.size());
  CHECK(summary["validity"]["options"]["seed"] == 7);  // from run.json "statistics"
  // Every non-reference row carries its paired comparison with Full KV.
  for (const auto& row : summary["rows"])
    if (!row["reference"].get<bool>()) CHECK(row["paired_vs_full"].is_object());
  const std::string md = test::slurp(dir.path / "report.md");
  const size_t validity = md.find("## Predictive validity"), e2e = md.find("## End-to-end quality");
  REQUIRE(validity != std::string::npos);
  REQUIRE(e2e != std::string::npos);
  CHECK(validity < e2e);
  CHECK(md.find("Lead metric: " + v.metrics.front().name) != std::string::npos);
  CHECK(md.find("Paired differences (same samples)") != std::string::npos);
}

TEST_CASE("Validity rules on hand-made records", "[reports][validity]") {
  // Two rankings a, b at keeps 0.1 and 0.5 (4 cells), 3 samples, one layer each with l_p = 0.
  auto record = [](const std::string& id, double a_recall_lo, double a_recall_hi, double b_recall_lo,
                   double b_recall_hi, std::vector<double> scores) {
    auto layer = [](double lo, double hi) {
      return nlohmann::json{{"n", 100},      {"spearman", lo},     {"kendall", lo},           {"degenerate", false},
                            {"k", {10, 50}}, {"recall", {lo, hi}}, {"mass_recall", {lo, hi}}, {"ndcg", {lo, hi}}};
    };
    nlohmann::json results = nlohmann::json::array();
    results.push_back({{"method", "full"}, {"keep", 1.0}, {"score", 100}, {"kept_tokens", 100}, {"cache_bytes", 1}});
    const std::vector<std::pair<std::string, double>> cells = {{"a", 0.1}, {"a", 0.5}, {"b", 0.1}, {"b", 0.5}};
    for (size_t c = 0; c < cells.size(); ++c)
      results.push_back({{"method", cells[c].first},
                         {"keep", cells[c].second},
                         {"score", scores[c]},
                         {"kept_tokens", 10},
                         {"cache_bytes", 1}});
    return nlohmann::json{{"id", id},
                          {"mode", "both"},
                          {"task", "t"},
                          {"dataset", "d"},
                          {"category", "C"},
                          {"prompt_tokens", 100},
                          {"max_score", 100},
                          {"score", 100},
                          {"keep_rates", {0.1, 0.5}},
                          {"empty_answer", false},
                          {"rank_layers", {{"a", 0}, {"b", nullptr}}},
                          {"heuristics",
                           {{"a", {{"layers", {layer(a_recall_lo, a_recall_hi)}}}},
                            {"b", {{"layers", {layer(b_recall_lo, b_recall_hi)}}}}}},
                          {"results", results}};
  };
  std::vector<BothSample> s = {parse_both_sample(record("s0", 0.2, 0.6, 0.1, 0.4, {0, 100, 0, 100}), "x:1"),
                               parse_both_sample(record("s1", 0.4, 0.8, 0.3, 0.5, {100, 100, 0, 0}), "x:2"),
                               parse_both_sample(record("s2", 0.3, 0.7, 0.2, 0.3, {0, 100, 0, 100}), "x:3")};
  const ValidityAnalysis v = analyse_validity(s, {});
  const MetricValidity* recall = nullptr;
  for (const MetricValidity& m : v.metrics)
    if (m.name == "recall@l_p") recall = &m;
  REQUIRE(recall != nullptr);
  // Cell means: recall a@0.1 0.3, a@0.5 0.7, b@0.1 0.2, b@0.5 0.4; scores 33.3, 100, 0, 66.7 → same order: ρ = 1.
  CHECK(recall->cells[0].metric == Approx(0.3));
  CHECK(recall->cells[3].score == Approx(200.0 / 3));
  CHECK(recall->rho == Approx(1.0));
  // Within cells: a@0.1 has correct s1 (0.4) vs wrong s0 (0.2), s2 (0.3) → 2/2; b@0.5 correct s0 (0.4), s2 (0.3)
  // vs wrong s1 (0.5) → 0/2; the other cells are all-correct or all-wrong. AUC = 2/4.
  CHECK(recall->auc == Approx(0.5));
  // Per keep: at 10% a (0.3, 33.3) and b (0.2, 0) agree → 1; at 50% a (0.7, 100), b (0.4, 66.7) → 1.
  CHECK(recall->rho_per_keep == Approx(1.0));
  // No evidence spans in these records: no evidence-recall row.
  for (const MetricValidity& m : v.metrics) CHECK(m.base != "evidence_recall");
  // A record of another mode is refused in one line.
  nlohmann::json e2e = record("s3", 0, 0, 0, 0, {0, 0, 0, 0});
  e2e["mode"] = "e2e";
  CHECK_THROWS_AS(parse_both_sample(e2e, "x:4"), Error);
}

TEST_CASE("Rank reports compare heuristics on the lead metric paired on the same samples", "[reports][validity]") {
  // Two layers (l_p = 0), keep 0.1; evidence recall at layer 0: a = (0.9, 0.8, 1.0, 0.7), b = (0.5, 0.8, 0.6, 0.7),
  // c = a − 0.6.
  const std::vector<double> a = {0.9, 0.8, 1.0, 0.7}, b = {0.5, 0.8, 0.6, 0.7}, c3 = {0.3, 0.2, 0.4, 0.1};
  std::vector<SampleRecord> samples;
  for (size_t i = 0; i < a.size(); ++i) {
    auto layer = [](double ev) {
      return nlohmann::json{
          {"n", 100},        {"spearman", 0.5},      {"kendall", 0.4}, {"degenerate", false},    {"k", {10}},
          {"recall", {0.5}}, {"mass_recall", {0.5}}, {"ndcg", {0.5}},  {"evidence_recall", {ev}}};
    };
    const nlohmann::json rec = {{"id", "s" + std::to_string(i)},
                                {"task", "t"},
                                {"dataset", "d"},
                                {"category", "C"},
                                {"score", 100},
                                {"keep_rates", {0.1}},
                                {"empty_answer", false},
                                {"heuristics",
                                 {{"a", {{"layers", {layer(a[i]), layer(0.0)}}}},
                                  {"b", {{"layers", {layer(b[i]), layer(0.0)}}}},
                                  {"c", {{"layers", {layer(c3[i]), layer(0.0)}}}}}}};
    samples.push_back(parse_sample(rec, "x:" + std::to_string(i)));
  }
  AggregateOptions options;
  options.statistics.permutation_resamples = 1000;  // 2^4 = 16 sign patterns: exact
  const RunAggregate agg = aggregate_samples(samples, options);
  const LeadComparison& c = agg.lead;
  CHECK(c.base == "evidence_recall");
  CHECK(c.layer == 0);
  REQUIRE(c.best.size() == 1);
  CHECK(c.best[0].second == "a");
  REQUIRE(c.vs_best.size() == 2);
  const PairedDiff& d = c.vs_best[0];
  CHECK(d.method == "b");
  CHECK(d.n == 4);
  CHECK(d.mean == Approx(-0.2));  // differences (−0.4, 0, −0.4, 0)
  // Sign flips of (−0.4, 0, −0.4, 0): means −0.2, −0.2, ... P(T ≤ −0.2) = 4/16 (the zero pairs flip freely), so p =
  // 0.5.
  CHECK(d.p == Approx(0.5));
  // c: every difference −0.6, so only the observed pattern and its mirror are as extreme: p = 2/16 = 0.125.
  const PairedDiff& e = c.vs_best[1];
  CHECK(e.method == "c");
  CHECK(e.p == Approx(0.125));
  // Holm over all M = 1 keep × 3 · 2 / 2 = 3 pairs (the best is chosen from the same samples), not the 2 tested:
  // c 3 · 0.125 = 0.375; b max(0.375, min(1, 2 · 0.5)) = 1.
  CHECK(c.family_size == 3);
  CHECK(e.p_holm == Approx(0.375));
  CHECK(d.p_holm == 1.0);
  CHECK_FALSE(d.distinguishable);
  CHECK(report_markdown(agg, {}).find("Holm over the table as part of all M = 3 pairs of heuristics") !=
        std::string::npos);
  CHECK(summary_json(agg)["lead_metric"]["holm_family_size"] == 3);
}
