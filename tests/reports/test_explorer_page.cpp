// The explorer page's data (reports/explorer_page.h) from hand-made samples.jsonl records, and the
// page's embedding of it. What the page does with the data is tested in a real browser
// (tests/browser/check_explorer.py, driven by tests/runner/test_explorer_browser.cpp).
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/compress.h"
#include "reports/explorer_page.h"
#include "tests/catch.h"
#include "tests/reports/reports_test_util.h"

using namespace claa;
using json = nlohmann::json;

namespace {

json layer(double rho, double recall) {
  return {{"n", 4},   {"spearman", rho},    {"kendall", rho / 2},      {"degenerate", false},
          {"k", {2}}, {"recall", {recall}}, {"mass_recall", {recall}}, {"ndcg", {recall}}};
}

// Two rank-mode samples, heuristics "snap" and "rand" over two layers, keep 50%; the first has a
// token view whose tokens include markup that must not break the page.
std::string write_samples(const claa::test::TempDir& dir) {
  const json view = {{"keep_rates", {0.5}},
                     {"tokens", {"</script>", "<!--", "b", "c", "q"}},
                     {"oracle", {0.1, 0.7, 0.0, 0.2, 0.9}},
                     {"oracle_levels", {{"4", ".0.0"}}},
                     {"evidence", {{1, 2}}},
                     {"gold", {"b"}},
                     {"kept", {{"snap", {"0.0.", ".00."}}, {"rand", {"00.."}}}}};
  const json first = {{"id", "s0"},
                      {"dataset", "d"},
                      {"score", 100.0},
                      {"max_score", 100.0},
                      {"answer", " b"},
                      {"prompt_tokens", 5},
                      {"keep_rates", {0.5}},
                      {"heuristics",
                       {{"snap", {{"layers", {layer(0.123456, 0.5), {{"n", 4}, {"nonfinite", 1}}}}}},
                        {"rand", {{"layer_independent", true}, {"layers", {layer(-0.2, 0.0), layer(-0.2, 0.0)}}}}}},
                      {"token_view", view}};
  const json second = {{"id", "s1"},
                       {"dataset", "d"},
                       {"score", 0.0},
                       {"keep_rates", {0.5}},
                       {"heuristics", {{"snap", {{"layers", {layer(0.5, 1.0), layer(0.25, 0.5)}}}}}}};
  const json empty = {{"id", "s2"}, {"dataset", "d"}, {"empty_answer", true}, {"keep_rates", {0.5}}};
  const std::string path = (dir.path / "samples.jsonl").string();
  std::ofstream(path) << first.dump() << "\n" << empty.dump() << "\n" << second.dump() << "\n";
  return path;
}

// The JSON inside <script type="application/json" id="claa-data">…</script>, inflated when deflated.
json embedded_data(const std::string& html) {
  const std::string open = "id=\"claa-data\">";
  const size_t begin = html.find(open);
  REQUIRE(begin != std::string::npos);
  const size_t end = html.find("</script>", begin);
  REQUIRE(end != std::string::npos);
  const json j = json::parse(html.substr(begin + open.size(), end - begin - open.size()));
  if (!j.contains("encoding")) return j;
  REQUIRE(j["encoding"] == "deflate-base64");
  return json::parse(inflate_zlib(base64_decode(j["data"].get<std::string>())));
}

}  // namespace

TEST_CASE("explorer data: per-sample layer metrics, heuristics in order, token views", "[explorer]") {
  claa::test::TempDir dir("explorer_data");
  const ExplorerData d = explorer_data({write_samples(dir)}, "t");
  const json& data = d.data;
  CHECK(data["n_layers"] == 2);
  CHECK(data["heuristics"] == json({"rand", "snap"}));  // as the first record lists them (sorted keys)
  CHECK(data["samples"].size() == 2);                   // the empty answer has no rank metrics
  CHECK(data["samples"][1]["id"] == "s1");
  CHECK(data["metric_names"] == json({"spearman", "kendall", "recall@50%", "mass_recall@50%", "ndcg@50%"}));
  // Four decimals; a non-finite layer and a heuristic a sample lacks are null.
  CHECK(data["metrics"]["spearman"]["snap"] == json({{0.1235, nullptr}, {0.5, 0.25}}));
  CHECK(data["metrics"]["spearman"]["rand"] == json({{-0.2, -0.2}, {nullptr, nullptr}}));
  CHECK(data["metrics"]["recall@50%"]["snap"][1] == json({1.0, 0.5}));
  REQUIRE(data["token_views"].size() == 1);
  CHECK(data["token_views"][0]["sample"] == 0);
  CHECK(data["token_views"][0]["answer"] == " b");
  CHECK(data["token_views"][0]["kept"]["snap"][1] == ".00.");
  CHECK(d.views_left_out.empty());
  // Over the size budget, a view is left out and named.
  const ExplorerData small = explorer_data({(dir.path / "samples.jsonl").string()}, "t", 10);
  CHECK(small.data["token_views"].empty());
  CHECK(small.views_left_out == std::vector<std::string>{"s0"});
  CHECK(small.data["token_views_left_out"] == json({"s0"}));
}

TEST_CASE("explorer page: one file with its data intact, markup in tokens escaped", "[explorer]") {
  claa::test::TempDir dir("explorer_page");
  const std::string samples = write_samples(dir);
  const std::string path = write_explorer_page(dir.path.string(), {samples}, "claa explorer: t");
  REQUIRE(path == (dir.path / "explorer.html").string());
  const std::string html = claa::test::slurp(path);
  for (const char* placeholder : {"/*CLAA_STYLE*/", "/*CLAA_SCRIPT*/", "/*CLAA_DATA*/"})
    CHECK(html.find(placeholder) == std::string::npos);
  // The token "</script>" did not end the data element early: the embedded JSON parses back whole
  // (deflated where zlib is built in).
  const json data = embedded_data(html);
  if (compressed_available()) CHECK(html.find("\"deflate-base64\"") != std::string::npos);
  CHECK(data == explorer_data({samples}, "claa explorer: t").data);
  CHECK(data["token_views"][0]["tokens"][0] == "</script>");
  // Self-contained: nothing is fetched from elsewhere.
  for (const char* remote : {"src=\"http", "href=\"http", "src=\"//", "@import"})
    CHECK(html.find(remote) == std::string::npos);
  // A run without rank metrics (e2e records) gets no page.
  std::ofstream(dir.path / "e2e.jsonl") << R"({"id": "x", "results": []})"
                                        << "\n";
  CHECK(write_explorer_page((dir.path / "sub").string(), {(dir.path / "e2e.jsonl").string()}, "t").empty());
}
