// both mode (configs/ci_both.json): one run gives, on the same samples, every pipeline's answers and its own
// selection ranking's rank metrics. The rank metrics must be exactly what a rank-mode run of the same
// heuristics measures (the pipeline prunes with that ranking), and the answers exactly an e2e run's.
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/catch.h"
#include "tests/cli_run.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::map<std::string, nlohmann::json> records_by_id(const std::string& path) {
  std::map<std::string, nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      nlohmann::json j = nlohmann::json::parse(line);
      out[j["id"].get<std::string>()] = j;
    }
  return out;
}

}  // namespace

TEST_CASE("both mode measures each pipeline's ranking as rank mode does and answers as e2e mode does",
          "[runner][slow][both]") {
  default_model_path();
  const std::string both = claa::test::fresh_temp_path("run_both").string();
  const std::string rank = claa::test::fresh_temp_path("run_both_rank").string();
  const std::string e2e = claa::test::fresh_temp_path("run_both_e2e").string();
  const std::string config = source_path("configs/ci_both.json");
  std::string out;
  REQUIRE(run_cli("run " + config + " --out " + both, &out) == 0);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("lead rank metric:"));
  // The same samples in rank mode, with the pipelines' rankings as heuristics under the same labels, and in
  // e2e mode.
  REQUIRE(run_cli("run " + config + " --out " + rank +
                      " --set mode=rank --set 'heuristics=[\"fastkv\",\"claa\",\"gemfilter\",\"specprefill\"]'",
                  &out) == 0);
  REQUIRE(run_cli("run " + config + " --out " + e2e + " --set mode=e2e --limit 1", &out) == 0);

  const auto b = records_by_id(both + "/samples.jsonl"), r = records_by_id(rank + "/samples.jsonl"),
             e = records_by_id(e2e + "/samples.jsonl");
  REQUIRE(b.size() == 2);
  REQUIRE(r.size() == 2);
  REQUIRE(e.size() == 1);  // --limit 1: the answers of one sample suffice to show the pipelines are the same
  for (const auto& [id, rec] : b) {
    INFO(id);
    CHECK(rec["mode"] == "both");
    CHECK(rec["score"] == r.at(id)["score"]);  // the full-KV answer
    // Every pipeline with a ranking, l_p = 14 for the FastKV architecture and GemFilter (L = 30), none for SpecPrefill.
    const nlohmann::json want_layers = {{"claa", 14}, {"fastkv", 14}, {"gemfilter", 14}, {"specprefill", nullptr}};
    CHECK(rec["rank_layers"] == want_layers);
    for (const auto& [label, h] : rec["heuristics"].items()) {
      INFO(label);
      CHECK(h["layers"] == r.at(id)["heuristics"][label]["layers"]);  // the same numbers, bit for bit
    }
    // Every result carries a time to first token; answers and scores equal the e2e run's.
    for (const auto& x : rec["results"]) CHECK(x["prefill_seconds"].get<double>() > 0);
    if (!e.count(id)) continue;
    REQUIRE(rec["results"].size() == e.at(id)["results"].size());
    for (size_t i = 0; i < rec["results"].size(); ++i) {
      const auto &x = rec["results"][i], &y = e.at(id)["results"][i];
      CHECK(x["method"] == y["method"]);
      CHECK(x["keep"] == y["keep"]);
      CHECK(x["answer"] == y["answer"]);
      CHECK(x["score"] == y["score"]);
    }
  }
  // The report: validity first, paired statistics, run.json's statistics.
  const nlohmann::json summary = nlohmann::json::parse(read_all(both + "/summary.json"));
  CHECK(summary["mode"] == "both");
  CHECK(summary["validity"]["metrics"].size() >= 10);  // 6 metrics × (at l_p, layer mean); evidence recall: spans
  const nlohmann::json run = nlohmann::json::parse(read_all(both + "/run.json"));
  CHECK(run["statistics"]["seed"] == 7);
  CHECK(run["statistics"]["bootstrap_resamples"] == 500);
}

TEST_CASE("both mode refuses a pipeline whose window differs from the capture's", "[runner][both]") {
  std::string out;
  CHECK(run_cli("run " + source_path("configs/ci_both.json") + " --out " +
                    claa::test::fresh_temp_path("run_both_window").string() + " --set capture.window=16",
                &out) != 0);
  CHECK_THAT(out, Catch::Contains("both mode needs them equal"));
}
