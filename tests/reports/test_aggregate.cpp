// Aggregation and report writers on tests/fixtures/reports/small_run (numbers checked by hand).
//
// The fixture: heuristics alpha (2 layers) and beta (layer-independent), keep rates 0.1 / 0.5,
// datasets ruler:a@2048 and ruler:b@2048 (category Retrieval, with evidence_recall) and longbench:c (QA),
// 2 ranked samples each, plus one empty answer in ruler:a@2048. Spearman ρ of alpha per sample:
//   a: layer 0 {0.2, 0.4}, layer 1 {0.6, 0.8};  b: {0.5, 0.9}, {0.7, 0.7};  c: {0.1, 0.1}, {0.3, 0.5}
// beta (both layers): a {0.5, 0.3}, b {0.2, 0.2}, c {0.4, 0.0}. recall@0.1 = ρ/2 + 0.5, kendall = 0.8 ρ,
// evidence_recall@0.1 = ρ. Scores: a {100, 0, empty 0}, b {100, 100}, c {50, 30}. run.json threshold 0.4.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "reports/aggregate.h"
#include "reports/report_writers.h"
#include "tests/catch.h"
#include "tests/reports/reports_test_util.h"

namespace fs = std::filesystem;
using namespace claa;
using claa::test::slurp;
using claa::test::TempDir;

namespace {

const std::string kRun = source_path("tests/fixtures/reports/small_run");

const ScopeAggregate& scope(const RunAggregate& agg, const std::string& label) {
  for (const ScopeAggregate& s : agg.scopes)
    if (s.label() == label) return s;
  FAIL("no scope " << label);
  return agg.scopes.front();
}

const Stat& stat(const RunAggregate& agg, const std::string& label, size_t heuristic, int layer,
                 const std::string& metric) {
  const int m = agg.metric_index(metric);
  REQUIRE(m >= 0);
  return scope(agg, label).heuristics.at(heuristic).layers.at(layer).at(m);
}

void check_stat(const Stat& s, double mean, double se, int64_t n, int64_t datasets) {
  CHECK(s.mean == Approx(mean).margin(1e-12));
  CHECK(s.se == Approx(se).margin(1e-12));
  CHECK(s.n == n);
  CHECK(s.datasets == datasets);
}

}  // namespace

TEST_CASE("aggregate: dataset means, then category and overall means of dataset means", "[reports]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  REQUIRE(agg.heuristics.size() == 2);
  CHECK(agg.heuristics[0].name == "alpha");
  CHECK(agg.heuristics[1].layer_independent);
  CHECK(agg.n_layers == 2);
  CHECK(agg.metrics.front() == "spearman");
  CHECK(agg.metric_index("evidence_recall@0.5") >= 0);
  // Scopes: overall, categories sorted, datasets sorted.
  std::vector<std::string> labels;
  for (const ScopeAggregate& s : agg.scopes) labels.push_back(s.label());
  CHECK(labels == std::vector<std::string>{"overall", "category:QA", "category:Retrieval", "dataset:longbench:c",
                                           "dataset:ruler:a@2048", "dataset:ruler:b@2048"});

  // Dataset scope: mean and stderr (= sample std / sqrt(n)) over the ranked samples.
  check_stat(stat(agg, "dataset:ruler:a@2048", 0, 0, "spearman"), 0.3, 0.1, 2, 1);
  check_stat(stat(agg, "dataset:ruler:b@2048", 0, 0, "spearman"), 0.7, 0.2, 2, 1);
  check_stat(stat(agg, "dataset:longbench:c", 0, 0, "spearman"), 0.1, 0.0, 2, 1);
  // Category = mean of its dataset means; stderr = sqrt(Σ se²) / D.
  check_stat(stat(agg, "category:Retrieval", 0, 0, "spearman"), 0.5, std::sqrt(0.05) / 2, 4, 2);
  // Overall = mean over all datasets (not over categories: that would be (0.5 + 0.1) / 2 = 0.3).
  check_stat(stat(agg, "overall", 0, 0, "spearman"), 1.1 / 3, std::sqrt(0.05) / 3, 6, 3);
  check_stat(stat(agg, "overall", 0, 1, "spearman"), 0.6, std::sqrt(0.02) / 3, 6, 3);  // se: a 0.1, b 0, c 0.1
  // Other metrics follow the same path: recall@0.1 = ρ/2 + 0.5, kendall = 0.8 ρ.
  check_stat(stat(agg, "overall", 0, 0, "recall@0.1"), 1.1 / 6 + 0.5, std::sqrt(0.05) / 6, 6, 3);
  check_stat(stat(agg, "overall", 0, 0, "kendall"), 0.8 * 1.1 / 3, 0.8 * std::sqrt(0.05) / 3, 6, 3);
  // Evidence recall exists only for the RULER datasets: averaged over those two.
  check_stat(stat(agg, "overall", 0, 0, "evidence_recall@0.1"), 0.5, std::sqrt(0.05) / 2, 4, 2);
  CHECK(stat(agg, "dataset:longbench:c", 0, 0, "evidence_recall@0.1").n == 0);
}

TEST_CASE("aggregate: per-heuristic summary over layers, threshold from run.json", "[reports]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  CHECK(agg.rho_threshold == 0.4);
  const HeuristicSummary& alpha = agg.overall().heuristics[0].summary;
  CHECK(alpha.mean_rho == Approx((1.1 / 3 + 0.6) / 2));
  CHECK(alpha.best_layer == 1);
  CHECK(alpha.worst_layer == 0);
  CHECK(alpha.worst_rho == Approx(1.1 / 3));
  CHECK(alpha.layer_std == Approx(std::fabs(0.6 - 1.1 / 3) / std::sqrt(2.0)));
  CHECK(alpha.layers_below == std::vector<int>{0});
  REQUIRE(alpha.recall.size() == 2);
  CHECK(alpha.recall[0] == Approx(((1.1 / 3 + 0.6) / 2) / 2 + 0.5));
  const HeuristicSummary& beta = agg.overall().heuristics[1].summary;  // flat: a 0.4, b 0.2, c 0.2
  CHECK(beta.mean_rho == Approx(0.8 / 3));
  CHECK(beta.layer_std == Approx(0.0).margin(1e-12));
  CHECK(beta.best_layer == 0);  // ties go to the lower layer
  CHECK(beta.layers_below == std::vector<int>{0, 1});
  CHECK(rho_threshold_from_run(nlohmann::json::object()) == 0.3);
}

TEST_CASE("aggregate: empty answers are counted, not ranked, and count in the task score", "[reports]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  CHECK(agg.samples == 7);
  CHECK(agg.empty_answers == 1);
  const ScopeAggregate& a = scope(agg, "dataset:ruler:a@2048");
  CHECK(a.samples == 3);
  CHECK(a.empty_answers == 1);
  CHECK(stat(agg, "dataset:ruler:a@2048", 0, 0, "spearman").n == 2);  // the empty answer is not averaged in
  CHECK(agg.datasets[1].empty_ids == std::vector<std::string>{"a-0002"});
  CHECK(a.score.mean == Approx(100.0 / 3));
  CHECK(scope(agg, "category:Retrieval").score.mean == Approx((100.0 / 3 + 100.0) / 2));
  CHECK(agg.overall().score.mean == Approx((100.0 / 3 + 100.0 + 40.0) / 3));
  CHECK(agg.overall().empty_answers == 1);
}

TEST_CASE("load_samples: torn last line tolerated, malformed middle line is an error with file:line", "[reports]") {
  const std::string torn = source_path("tests/fixtures/reports/torn.jsonl");
  LoadStats stats;
  const auto samples = load_samples({torn}, &stats);
  CHECK(samples.size() == 2);
  CHECK(stats.torn_lines == std::vector<std::string>{torn + ":3"});

  const std::string bad = source_path("tests/fixtures/reports/malformed.jsonl");
  CHECK_THROWS_WITH(load_samples({bad}), Catch::Contains(bad + ":2: malformed JSON line"));
}

TEST_CASE("load_samples: merging files, duplicate ids and schema errors", "[reports]") {
  const std::string torn = source_path("tests/fixtures/reports/torn.jsonl");
  const std::string full = kRun + "/samples.jsonl";
  CHECK_THROWS_WITH(load_samples({full, torn}), Catch::Contains("duplicate sample id 'a-0000'"));
  CHECK(load_samples({full}).size() == 7);

  nlohmann::json j = nlohmann::json::parse(slurp(full).substr(0, slurp(full).find('\n')));
  j["heuristics"]["alpha"]["layers"][1].erase("spearman");
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("x.jsonl:9: heuristic 'alpha' layer 1: missing field 'spearman'"));
  j = nlohmann::json::parse(slurp(full).substr(0, slurp(full).find('\n')));
  j["heuristics"]["alpha"]["layers"][0]["recall"] = {0.5};
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("1 values per metric for 2 keep rates"));
  // Wrong types where a field is optional are errors too, not escaped JSON exceptions (found by fuzzing).
  const nlohmann::json first = nlohmann::json::parse(slurp(full).substr(0, slurp(full).find('\n')));
  j = first;
  j["heuristics"]["beta"] = 1.5;
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("heuristic 'beta': not a JSON object"));
  j = first;
  j["heuristics"]["alpha"]["layer_independent"] = "yes";
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("field 'layer_independent' is not true or false"));
  j = first;
  j["heuristics"]["alpha"]["layers"][0] = 3;
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("heuristic 'alpha' layer 0: not a JSON object"));
  j = first;
  j["empty_answer"] = 0;
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("field 'empty_answer' is not true or false"));
  j = first;
  j["timing"] = {{"prefill_seconds", "fast"}};
  CHECK_THROWS_WITH(parse_sample(j, "x.jsonl:9"), Catch::Contains("field 'prefill_seconds' is not a number"));
}

TEST_CASE("aggregate: inconsistent runs are rejected", "[reports]") {
  std::vector<SampleRecord> samples = load_samples({kRun + "/samples.jsonl"});
  SECTION("layer counts differ") {
    samples[3].heuristics[0].layers.pop_back();
    CHECK_THROWS_WITH(aggregate_samples(samples, {}), Catch::Contains("heuristic 'alpha' has 1 layers, earlier 2"));
  }
  SECTION("keep rates differ") {
    samples[1].keep_rates = {0.2, 0.5};
    CHECK_THROWS_WITH(aggregate_samples(samples, {}), Catch::Contains("keep_rates differ"));
  }
  SECTION("no samples") { CHECK_THROWS_AS(aggregate_samples({}, {}), Error); }
}

TEST_CASE("writers: summary.json, layers.csv, report.md/html are deterministic", "[reports]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  TempDir one("report_one"), two("report_two");
  ReportOptions no_plots;
  no_plots.plots = false;
  write_report(agg, one.path.string(), no_plots);
  write_report(aggregate_run_dir(kRun), two.path.string(), no_plots);
  for (const char* name : {"summary.json", "layers.csv", "report.md", "report.html"}) {
    INFO(name);
    CHECK(!slurp(one.path / name).empty());
    CHECK(slurp(one.path / name) == slurp(two.path / name));
  }
  const std::string csv = slurp(one.path / "layers.csv");
  CHECK(csv.rfind("scope,heuristic,layer,metric,mean,stderr,n\n", 0) == 0);
  CHECK(csv.find("\ncategory:Retrieval,alpha,0,spearman,0.5,0.11180339887498947,4\n") != std::string::npos);
  CHECK(csv.find("dataset:longbench:c,alpha,0,evidence_recall") == std::string::npos);  // no data → no row

  const nlohmann::json summary = nlohmann::json::parse(slurp(one.path / "summary.json"));
  CHECK(summary["format"] == "claa-summary");
  CHECK(summary["empty_answers"] == 1);
  CHECK(summary["scopes"][0]["heuristics"]["alpha"]["summary"]["worst_layer"] == 0);
  CHECK(summary["scopes"][0]["heuristics"]["alpha"]["layers"][1]["spearman"]["mean"].get<double>() == Approx(0.6));

  const std::string md = slurp(one.path / "report.md");
  CHECK(md.find("| heuristic | mean ρ | Δρ vs best [CI] | p / Holm p | mean τ | recall@10% | recall@50% |") !=
        std::string::npos);
  CHECK(md.find("| beta | 0.267 |") != std::string::npos);
  CHECK(md.find("2: 0–1 | layer-independent; self-draft |") != std::string::npos);
  CHECK(md.find("### Retrieval") != std::string::npos);
  CHECK(md.find("| ruler:a@2048 | 1 | 3 | a-0002 |") != std::string::npos);
  CHECK(slurp(one.path / "report.html").find("<td>alpha</td>") != std::string::npos);
}

TEST_CASE("plots: PNG and SVG from gnuplot, text reports without it", "[reports][plots]") {
  const RunAggregate agg = aggregate_run_dir(kRun);
  SECTION("gnuplot missing") {
    TempDir dir("plots_missing");
    ReportOptions options;
    options.gnuplot = "/nonexistent/gnuplot";
    const ReportFiles files = write_report(agg, dir.path.string(), options);
    CHECK(files.gnuplot_missing);
    CHECK(files.plots.plots.empty());
    CHECK(fs::exists(dir.path / "plots" / "spearman_overview.gp"));  // scripts are still there to run later
    CHECK(!fs::exists(dir.path / "plots" / "spearman_overview.png"));
    CHECK(fs::file_size(dir.path / "report.md") > 0);
  }
  SECTION("gnuplot on PATH") {
    if (find_executable("gnuplot").empty()) {
      WARN("gnuplot is not on PATH: plot rendering not tested");
      return;
    }
    TempDir dir("plots");
    const ReportFiles files = write_report(agg, dir.path.string());
    CHECK(!files.gnuplot_missing);
    CHECK(files.plots.errors.empty());
    REQUIRE(files.plots.plots.size() == 4);  // overview, datasets, recall, heatmap
    for (const PlotFile& p : files.plots.plots) {
      INFO(p.png);
      const std::string png = slurp(dir.path / p.png), svg = slurp(dir.path / p.svg);
      CHECK(png.rfind("\x89PNG", 0) == 0);
      CHECK(png.size() > 1000);
      CHECK(svg.find("<svg") != std::string::npos);
    }
    const std::string html = slurp(dir.path / "report.html");
    CHECK(html.find("<img src=\"plots/spearman_overview.png\"") != std::string::npos);
    CHECK(html.find("<a href=\"plots/heatmap_spearman.svg\">SVG</a>") != std::string::npos);
  }
}

TEST_CASE("aggregate: task scores in points whatever the scorer's scale, timings.jsonl merged", "[reports]") {
  std::vector<SampleRecord> samples = load_samples({kRun + "/samples.jsonl"});
  for (SampleRecord& s : samples)
    if (s.dataset == "longbench:c") {  // LongBench scorers give 0..1 with max_score 1
      s.score /= 100.0;
      s.max_score = 1.0;
    }
  const RunAggregate agg = aggregate_samples(samples, {});
  CHECK(scope(agg, "dataset:longbench:c").score.mean == Approx(40.0));
  CHECK(agg.overall().score.mean == Approx((100.0 / 3 + 100.0 + 40.0) / 3));

  TempDir dir("timings");
  const std::string timings = (dir.path / "timings.jsonl").string();
  write_text_file(timings, "{\"id\": \"c-0000\", \"prefill_seconds\": 3.0, \"decode_seconds\": 1.0}\n"
                           "{\"id\": \"c-0001\", \"prefill_seconds\": 5.0, \"decode_seconds\": 1.0}\n{\"id\": \"c-00");
  for (SampleRecord& s : samples) s.has_timing = false;
  merge_timings(timings, samples);
  const RunAggregate timed = aggregate_samples(samples, {});
  CHECK(timed.datasets[0].name == "longbench:c");
  CHECK(timed.datasets[0].prefill_seconds.mean == Approx(4.0));
  CHECK(timed.datasets[0].prefill_seconds.n == 2);
  CHECK(timed.datasets[1].prefill_seconds.n == 0);  // no timing at all: not reported as zero seconds
  CHECK(timed.costs.empty());                       // no per-heuristic seconds recorded: no cost table
}

TEST_CASE("aggregate: each heuristic's cost from timings.jsonl, summed and set beside the prefill", "[reports]") {
  std::vector<SampleRecord> samples = load_samples({kRun + "/samples.jsonl"});
  TempDir dir("costs");
  const std::string timings = (dir.path / "timings.jsonl").string();
  write_text_file(timings, R"({"id": "c-0000", "prefill_seconds": 2.0, "decode_seconds": 1.0, "heuristics": )"
                           R"({"fastkv": {"score_seconds": 0.5, "compare_seconds": 0.25}, )"
                           R"("kvzip": {"score_seconds": 9.0, "compare_seconds": 0.5}}})"
                           "\n"
                           R"({"id": "c-0001", "prefill_seconds": 4.0, "decode_seconds": 1.0, "heuristics": )"
                           R"({"fastkv": {"score_seconds": 1.5, "compare_seconds": 0.25}}})"
                           "\n");
  for (SampleRecord& s : samples) s.has_timing = false;
  merge_timings(timings, samples);
  const RunAggregate agg = aggregate_samples(samples, {});
  REQUIRE(agg.costs.size() == 2);
  CHECK(agg.costs[0].name == "fastkv");
  CHECK(agg.costs[0].samples == 2);
  CHECK(agg.costs[0].score_seconds == Approx(2.0));
  CHECK(agg.costs[0].compare_seconds == Approx(0.5));
  CHECK(agg.costs[0].prefill_seconds == Approx(6.0));
  CHECK(agg.costs[1].name == "kvzip");
  CHECK(agg.costs[1].samples == 1);
  CHECK(agg.costs[1].score_seconds / agg.costs[1].prefill_seconds == Approx(4.5));
  // The report shows them: scoring 9 s on one sample whose prefill took 2 s is 4.50× it.
  bool found = false;
  for (const ReportSection& section : report_sections(agg))
    if (section.heading == "Cost per heuristic") {
      found = true;
      REQUIRE(section.tables.size() == 1);
      const Table& t = section.tables[0];
      REQUIRE(t.rows.size() == 2);
      CHECK(t.rows[1] == std::vector<std::string>{"kvzip", "1", "9.00", "9.000", "4.50", "0.50"});
    }
  CHECK(found);

  // A line that parses but holds a wrongly typed value is a corrupt file: a one-line error naming it.
  auto merge_error = [&](const std::string& line) {
    write_text_file(timings, line + "\n");
    try {
      merge_timings(timings, samples);
    } catch (const claa::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(merge_error(R"({"id": "c-0000", "prefill_seconds": "2.0"})") ==
        timings + ":1: field 'prefill_seconds' is not a number");
  CHECK(merge_error(R"({"id": "c-0000", "heuristics": {"fastkv": {"score_seconds": [1]}}})") ==
        timings + ":1: field 'score_seconds' is not a number");
  CHECK(merge_error(R"({"id": "c-0000", "heuristics": {"fastkv": 3}})") ==
        timings + ":1: heuristic 'fastkv' is not an object");
  CHECK(merge_error(R"({"id": "c-0000", "heuristics": []})") == timings + ":1: field 'heuristics' is not an object");
  CHECK(merge_error(R"({"id": "c-9999", "prefill_seconds": "2.0"})") == "no error");  // unknown ids are skipped
}
