// e2e-mode reports on tests/fixtures/reports/e2e_run (numbers checked by hand).
//
// The fixture: datasets ruler:niah_single_1@4096 (task niah_single_1, Retrieval, max_score 100, prompts of
// 4000 tokens) and longbench:qasper (task qasper, Single-Doc QA, max_score 1, prompts of 2000 tokens),
// 2 samples each; methods full (keep 1.0), fastkv and claa at keeps 0.1 and 0.4. Scores in points:
//              niah (s0, s1) → mean   qasper (s0, s1) → mean   Average (mean of the 2 dataset means)
//   full       100, 100 → 100         60, 40 → 50              75
//   fastkv 0.1   0, 100 →  50         20, 30 → 25              37.5
//   fastkv 0.4 100, 100 → 100         50, 40 → 45              72.5
//   claa 0.1   100, 100 → 100         30, 40 → 35              67.5
//   claa 0.4   100, 100 → 100         50, 50 → 50              75
// kept_tokens = keep × prompt (full: the prompt); cache_bytes = 2048 × kept (claa: + 1 MiB).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "reports/e2e_report.h"
#include "reports/run_reports.h"
#include "tests/catch.h"
#include "tests/reports/reports_test_util.h"

namespace fs = std::filesystem;
using namespace claa;
using claa::test::slurp;
using claa::test::TempDir;

namespace {

const std::string kE2eRun = source_path("tests/fixtures/reports/e2e_run");
const std::string kRankRun = source_path("tests/fixtures/reports/small_run");

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

void copy_run(const std::string& from, const fs::path& to) {
  for (const char* f : {"samples.jsonl", "run.json"}) fs::copy_file(fs::path(from) / f, to / f);
}

const E2eRow& row(const E2eAggregate& agg, const std::string& label) {
  for (const E2eRow& r : agg.rows)
    if (r.label() == label) return r;
  FAIL("no row " << label);
  return agg.rows.front();
}

E2eSample sample(const std::string& id, const std::string& dataset, double max_score,
                 std::vector<std::pair<std::string, double>> scores) {
  E2eSample s;
  s.id = id;
  s.where = id;
  s.task = dataset;
  s.dataset = dataset;
  s.category = std::string("C");  // (a const char* here trips a GCC 12 -Wstringop-overflow false positive)
  s.prompt_tokens = 100;
  s.max_score = max_score;
  for (const auto& [method, score] : scores)
    s.results.push_back({method, method == "full" ? 1.0 : 0.2, score, method == "full" ? 100 : 20, 0});
  return s;
}

}  // namespace

TEST_CASE("e2e: aggregation of the fixture", "[reports][e2e]") {
  const E2eAggregate agg = aggregate_e2e_run_dir(kE2eRun);
  REQUIRE(agg.samples == 4);
  REQUIRE(agg.datasets.size() == 2);
  CHECK(agg.datasets[0].name == "longbench:qasper");  // sorted by name
  CHECK(agg.datasets[0].column == "qasper");
  CHECK(agg.datasets[1].column == "niah_single_1");
  CHECK(agg.methods == std::vector<std::string>{"fastkv", "claa"});  // order of first appearance
  CHECK(agg.keep_rates == std::vector<double>{0.1, 0.4});
  CHECK(agg.categories == std::vector<std::string>{"Retrieval", "Single-Doc QA"});
  REQUIRE(agg.rows.size() == 5);
  std::vector<std::string> labels;
  for (const E2eRow& r : agg.rows) labels.push_back(r.label());
  CHECK(labels == std::vector<std::string>{"Full KV", "fastkv @ 10%", "fastkv @ 40%", "claa @ 10%", "claa @ 40%"});
  REQUIRE(agg.reference() == &agg.rows.front());

  // datasets[0] = qasper, datasets[1] = niah.
  const E2eRow& full = row(agg, "Full KV");
  CHECK(full.datasets[0].mean == Approx(50.0));
  CHECK(full.datasets[1].mean == Approx(100.0));
  CHECK(full.average.mean == Approx(75.0));
  CHECK(full.average.n == 4);
  CHECK(full.average.datasets == 2);

  const E2eRow& fk10 = row(agg, "fastkv @ 10%");
  CHECK(fk10.datasets[0].mean == Approx(25.0));
  CHECK(fk10.datasets[1].mean == Approx(50.0));
  CHECK(fk10.average.mean == Approx(37.5));
  // stderr: niah {0, 100} → 50; qasper {20, 30} → 5; average sqrt(50² + 5²) / 2.
  CHECK(fk10.datasets[1].se == Approx(50.0));
  CHECK(fk10.datasets[0].se == Approx(5.0));
  CHECK(fk10.average.se == Approx(std::sqrt(2525.0) / 2.0));
  CHECK(fk10.delta[0] == Approx(-25.0));
  CHECK(fk10.delta[1] == Approx(-50.0));
  CHECK(fk10.delta_average == Approx(-37.5));
  CHECK(fk10.categories.at("Retrieval").mean == Approx(50.0));
  CHECK(fk10.categories.at("Single-Doc QA").mean == Approx(25.0));

  CHECK(row(agg, "fastkv @ 40%").average.mean == Approx(72.5));
  CHECK(row(agg, "claa @ 10%").average.mean == Approx(67.5));
  CHECK(row(agg, "claa @ 40%").average.mean == Approx(75.0));
  CHECK(row(agg, "claa @ 40%").delta_average == Approx(0.0).margin(1e-9));

  // Kept tokens / cache: plain means over the row's 4 samples.
  CHECK(full.kept_tokens == Approx(3000.0));
  CHECK(full.kept_share == Approx(1.0));
  CHECK(full.cache_bytes == Approx(3000.0 * 2048));
  CHECK(fk10.kept_tokens == Approx(300.0));
  CHECK(fk10.kept_share == Approx(0.1));
  CHECK(row(agg, "claa @ 10%").cache_bytes == Approx(300.0 * 2048 + 1048576));
}

TEST_CASE("e2e: the average is the mean of the dataset means, not of the samples", "[reports][e2e]") {
  // Dataset x: 3 samples {100, 100, 100}; dataset y (max_score 1): 1 sample {0}. Sample mean 75, dataset mean 50.
  const E2eAggregate agg = aggregate_e2e({sample("x-0", "x", 100, {{"full", 100}, {"m", 100}}),
                                          sample("x-1", "x", 100, {{"full", 100}, {"m", 100}}),
                                          sample("x-2", "x", 100, {{"full", 100}, {"m", 100}}),
                                          sample("y-0", "y", 1, {{"full", 1}, {"m", 0}})});
  CHECK(row(agg, "Full KV").average.mean == Approx(100.0));
  const E2eRow& m = row(agg, "m @ 20%");
  CHECK(m.average.mean == Approx(50.0));
  CHECK(m.average.n == 4);
  CHECK(m.delta_average == Approx(-50.0));
  CHECK(m.delta[1] == Approx(-100.0));
}

TEST_CASE("e2e: report.md has the Table 1 layout", "[reports][e2e]") {
  const E2eAggregate agg = aggregate_e2e_run_dir(kE2eRun);
  const std::string md = e2e_report_markdown(agg, {});
  using Catch::Contains;
  CHECK_THAT(md, Contains("| method | keep | qasper | niah_single_1 | Average |"));
  CHECK_THAT(md, Contains("| Full KV | 100% | 50.0 | 100.0 | 75.0 |"));
  CHECK_THAT(md, Contains("| fastkv | 10% | 25.0 | 50.0 | 37.5 |"));
  CHECK_THAT(md, Contains("| fastkv | 40% | 45.0 | 100.0 | 72.5 |"));
  CHECK_THAT(md, Contains("| claa | 10% | 35.0 | 100.0 | 67.5 |"));
  CHECK_THAT(md, Contains("| claa | 40% | 50.0 | 100.0 | 75.0 |"));
  // Δ vs Full KV (no Full KV row there).
  CHECK_THAT(md, Contains("### Δ vs Full KV"));
  CHECK_THAT(md, Contains("| fastkv | 10% | -25.0 | -50.0 | -37.5 |"));
  CHECK_THAT(md, Contains("| claa | 40% | +0.0 | +0.0 | +0.0 |"));
  // Kept tokens / cache MiB.
  CHECK_THAT(md, Contains("| Full KV | 100% | 4 | 3000.0 | 100.0% | 5.86 | 100.0% |"));
  CHECK_THAT(md, Contains("| fastkv | 10% | 4 | 300.0 | 10.0% | 0.59 | 10.0% |"));
  CHECK_THAT(md, Contains("| claa | 10% | 4 | 300.0 | 10.0% | 1.59 |"));
  CHECK_THAT(md, Contains("mean of the 2 dataset means"));
  // Row order: Full KV, then fastkv (first seen) before claa, keeps ascending.
  const size_t full = md.find("| Full KV |"), fk = md.find("| fastkv | 10%"), fk4 = md.find("| fastkv | 40%"),
               cl = md.find("| claa | 10%");
  CHECK(full < fk);
  CHECK(fk < fk4);
  CHECK(fk4 < cl);

  const std::string html = e2e_report_html(agg, {});
  CHECK_THAT(html, Contains("<th>Average</th>"));
  CHECK_THAT(html, Contains("<td>fastkv</td><td>10%</td><td>25.0</td><td>50.0</td><td>37.5</td>"));
}

TEST_CASE("e2e: summary.json", "[reports][e2e]") {
  const nlohmann::ordered_json j = e2e_summary_json(aggregate_e2e_run_dir(kE2eRun));
  CHECK(j["format"] == "claa-e2e-summary");
  CHECK(j["reference"] == "full");
  REQUIRE(j["rows"].size() == 5);
  const auto& fk = j["rows"][1];
  CHECK(fk["method"] == "fastkv");
  CHECK(fk["keep"].get<double>() == Approx(0.1));
  CHECK(fk["average"]["mean"].get<double>() == Approx(37.5));
  CHECK(fk["datasets"]["ruler:niah_single_1@4096"]["mean"].get<double>() == Approx(50.0));
  CHECK(fk["datasets"]["ruler:niah_single_1@4096"]["n"] == 2);
  CHECK(fk["categories"]["Single-Doc QA"]["mean"].get<double>() == Approx(25.0));
  CHECK(fk["delta_vs_full"]["average"].get<double>() == Approx(-37.5));
  CHECK(fk["cache_mib"].get<double>() == Approx(300.0 * 2048 / 1048576.0));
  CHECK(j["rows"][0]["delta_vs_full"]["average"].get<double>() == Approx(0.0));
}

TEST_CASE("e2e: write_run_reports dispatches on the records' mode", "[reports][e2e]") {
  CHECK(run_dir_mode(kE2eRun) == "e2e");
  CHECK(run_dir_mode(kRankRun) == "rank");

  TempDir one("one"), two("two");
  copy_run(kE2eRun, one.path);
  copy_run(kE2eRun, two.path);
  ReportOptions options;
  options.plots = false;
  const ReportFiles a = write_run_reports(one.path.string(), {}, options);
  write_run_reports(two.path.string(), {}, options);
  CHECK(a.layers_csv.empty());
  CHECK(!fs::exists(one.path / "layers.csv"));
  for (const char* f : {"summary.json", "report.md", "report.html"}) {
    INFO(f);
    REQUIRE(fs::exists(one.path / f));
    CHECK(slurp(one.path / f) == slurp(two.path / f));  // deterministic, no paths
  }
  CHECK_THAT(slurp(one.path / "summary.json"), Catch::Contains("\"format\": \"claa-e2e-summary\""));
}

TEST_CASE("e2e: mixed rank and e2e records are an error", "[reports][e2e]") {
  TempDir dir("mixed");
  {
    std::ofstream out(dir.path / "samples.jsonl");
    out << first_line(fs::path(kRankRun) / "samples.jsonl") << "\n"
        << first_line(fs::path(kE2eRun) / "samples.jsonl") << "\n";
  }
  try {
    write_run_reports(dir.path.string(), {}, ReportOptions{false});
    FAIL("no error on mixed records");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("mix rank-mode and e2e-mode records"));
    CHECK_THAT(e.what(), Catch::Contains("samples.jsonl:1"));
    CHECK_THAT(e.what(), Catch::Contains("samples.jsonl:2"));
  }
  // Also across merged files.
  TempDir other("mixed_other");
  fs::copy_file(fs::path(kE2eRun) / "samples.jsonl", other.path / "e2e.jsonl");
  CHECK_THROWS_AS(samples_mode({(fs::path(kRankRun) / "samples.jsonl").string(), (other.path / "e2e.jsonl").string()}),
                  Error);
  // run.json says e2e, records are rank records.
  TempDir declared("declared");
  fs::copy_file(fs::path(kRankRun) / "samples.jsonl", declared.path / "samples.jsonl");
  fs::copy_file(fs::path(kE2eRun) / "run.json", declared.path / "run.json");
  CHECK_THROWS_AS(run_dir_mode(declared.path.string()), Error);
}

TEST_CASE("e2e: bad records", "[reports][e2e]") {
  const nlohmann::json base = nlohmann::json::parse(first_line(fs::path(kE2eRun) / "samples.jsonl"));
  nlohmann::json dup = base;
  dup["results"].push_back(dup["results"][1]);
  CHECK_THROWS_AS(parse_e2e_sample(dup, "x:1"), Error);
  nlohmann::json no_results = base;
  no_results.erase("results");
  CHECK_THROWS_AS(parse_e2e_sample(no_results, "x:1"), Error);
  nlohmann::json bad_score = base;
  bad_score["results"][0]["score"] = "high";
  CHECK_THROWS_AS(parse_e2e_sample(bad_score, "x:1"), Error);
}

TEST_CASE("e2e: accuracy plot", "[reports][e2e][plots]") {
  const E2eAggregate agg = aggregate_e2e_run_dir(kE2eRun);
  SECTION("gnuplot missing") {
    TempDir dir("plot_missing");
    const PlotResult r = render_e2e_plots(agg, dir.path.string(), "/nonexistent/gnuplot");
    CHECK(!r.gnuplot_found);
    CHECK(r.plots.empty());
    CHECK(fs::exists(dir.path / "plots" / "e2e_accuracy.gp"));
    CHECK(fs::exists(dir.path / "plots" / "e2e_accuracy.dat"));
  }
  SECTION("gnuplot on PATH") {
    if (find_executable("gnuplot").empty()) {
      WARN("gnuplot is not on PATH: plot rendering not tested");
      return;
    }
    TempDir dir("plot");
    copy_run(kE2eRun, dir.path);
    const ReportFiles files = write_run_reports(dir.path.string());
    CHECK(files.plots.errors.empty());
    // The accuracy plot and the cost front against the cache (no TTFT recorded in this fixture: no TTFT front).
    REQUIRE(files.plots.plots.size() == 2);
    CHECK_FALSE(fs::exists(dir.path / "plots" / "cost_front_ttft.gp"));
    for (const char* f : {"plots/e2e_accuracy.png", "plots/e2e_accuracy.svg", "plots/cost_front_cache.png"}) {
      INFO(f);
      CHECK(fs::file_size(dir.path / f) > 0);
    }
    CHECK_THAT(slurp(dir.path / "report.md"), Catch::Contains("![Average score vs keep rate](plots/e2e_accuracy.png)"));
    CHECK_THAT(slurp(dir.path / "report.html"), Catch::Contains("<img src=\"plots/e2e_accuracy.png\""));
    const std::string dat = slurp(dir.path / "plots" / "e2e_accuracy.dat");
    CHECK_THAT(dat, Catch::Contains("10 37.500000"));
    // Cost front: fastkv at 10% keeps 0.1 × prompt tokens (2048 bytes each; see the header): its mean cache in
    // MiB, its average 37.5 points.
    const std::string front = slurp(dir.path / "plots" / "cost_front_cache.dat");
    CHECK_THAT(front, Catch::Contains(" 37.500000 10\n"));
  }
}
