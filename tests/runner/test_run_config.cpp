// Config validation: typos and bad values fail fast, all at once, with "did you mean" hints.
#include "core/error.h"
#include "harness/runner/run_config.h"
#include "tests/catch.h"

namespace {
std::string error_of(const nlohmann::json& j) {
  try {
    claa::parse_run_config(j, "test.json");
  } catch (const claa::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("A valid config resolves defaults", "[runner][config]") {
  auto c = claa::parse_run_config(nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt", "length": 1024}],
                                                           "heuristics": ["claa", {"name": "claa", "label": "claa_n8", "params": {"n": 8}}]})"),
                                  "t");
  REQUIRE(c.datasets.size() == 1);
  CHECK(c.datasets[0].options.samples == 10);
  CHECK(c.datasets[0].options.length == 1024);
  REQUIRE(c.heuristics.size() == 2);
  CHECK(c.heuristics[1].label == "claa_n8");
  CHECK(c.heuristics[1].params["n"] == 8);
  CHECK(c.heuristics[1].params["granularity"] == "kv_head");
  CHECK(c.keep_rates == std::vector<double>{0.1, 0.2, 0.4});
}

TEST_CASE("Config typos fail with one message each", "[runner][config]") {
  std::string e = error_of(nlohmann::json::parse(R"({
    "modle": {},
    "model": {"dtype": "bf61", "devise": "cpu"},
    "datasets": [{"spec": "ruler:niah_singel_1", "lenght": 1024}],
    "heuristics": ["fastkb", {"name": "claa", "params": {"granularity": "head", "m": 4}}],
    "keep_rates": [0.1, 1.5],
    "oracle": {"layer_aggregation": "median"}
  })"));
  CHECK_THAT(e, Catch::Contains("unknown key 'modle' (did you mean 'model'?)"));
  CHECK_THAT(e, Catch::Contains("model.dtype: 'bf61' is not one of fp32, bf16, fp16 (did you mean 'bf16'?)"));
  CHECK_THAT(e, Catch::Contains("unknown key 'devise' (did you mean 'device'?)"));
  CHECK_THAT(e, Catch::Contains("unknown key 'lenght' (did you mean 'length'?)"));
  CHECK_THAT(e, Catch::Contains("niah_singel_1"));
  CHECK_THAT(e, Catch::Contains("unknown heuristic 'fastkb' (did you mean 'fastkv'?)"));
  CHECK_THAT(e, Catch::Contains("unknown parameter 'm' (did you mean 'n'?)"));
  CHECK_THAT(e, Catch::Contains("keep_rates: 1.500000 is not in (0, 1]"));
  CHECK_THAT(e, Catch::Contains("oracle.layer_aggregation: 'median' is not one of max, mean"));
}

TEST_CASE("Bad values and missing datasets are reported", "[runner][config]") {
  CHECK_THAT(error_of(nlohmann::json::object()), Catch::Contains("datasets: a non-empty list of datasets is required"));
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt", "samples": 0}]})")),
             Catch::Contains("samples: must be at least 1"));
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": ["ruler:vt"], "heuristics": ["claa", "claa"]})")),
             Catch::Contains("label 'claa' is used twice"));
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": [{"spec": 5}]})")), Catch::Contains("wrong type"));
  // Token views (on by default) record at most 36 keep rates: refused up front, with or without a capture section.
  nlohmann::json many = {{"datasets", {"ruler:vt"}}, {"keep_rates", nlohmann::json::array()}};
  for (int i = 1; i <= 37; ++i) many["keep_rates"].push_back(i / 40.0);
  CHECK_THAT(error_of(many), Catch::Contains("capture.token_views: token views record at most 36 keep rates"));
  many["capture"] = {{"token_views", 0}};
  CHECK(error_of(many).empty());
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": ["ruler:vt"], "capture": {"token_views": -1}})")),
             Catch::Contains("capture.token_views: must be non-negative"));
}

TEST_CASE("A config section given as a list or a string is an error naming the section, not a crash",
          "[runner][config]") {
  // Found by fuzz_run_config: {"report": [..]} threw a JSON iterator error past the validator.
  const char* sections[] = {"model", "oracle", "capture", "report", "e2e"};
  for (const char* section : sections) {
    for (const char* value : {"[1, 2]", "\"text\"", "3"}) {
      nlohmann::json j = nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt"}]})");
      j[section] = nlohmann::json::parse(value);
      if (std::string(section) == "e2e") j["mode"] = "e2e";
      INFO(section << " = " << value);
      CHECK_THAT(error_of(j), Catch::Contains(std::string(section) + ": must be an object"));
    }
  }
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": [["ruler:vt"]]})")), Catch::Contains("datasets[0]"));
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"datasets": ["ruler:vt"], "heuristics": [["claa"]]})")),
             Catch::Contains("heuristics[0]"));
}

TEST_CASE("Config overrides (--set) reach nested keys and list elements", "[runner][config]") {
  nlohmann::json j = nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt", "samples": 10}], "model": {}})");
  claa::apply_overrides(j, {"datasets.0.samples=3", "model.dtype=bf16", "keep_rates=[0.5]"});
  CHECK(j["datasets"][0]["samples"] == 3);
  CHECK(j["model"]["dtype"] == "bf16");
  CHECK(j["keep_rates"] == nlohmann::json::parse("[0.5]"));
  CHECK_THROWS_WITH(claa::apply_overrides(j, {"datasets.4.samples=1"}), Catch::Contains("no element 4"));
  CHECK_THROWS_WITH(claa::apply_overrides(j, {"novalue"}), Catch::Contains("expected key=value"));
}

TEST_CASE("both mode and report.statistics are validated up front", "[runner][config]") {
  auto c = claa::parse_run_config(nlohmann::json::parse(R"({"mode": "both", "datasets": ["ruler:vt"],
      "report": {"statistics": {"seed": 3, "bootstrap_resamples": 500}}})"),
                                  "t");
  CHECK(c.runs_pipelines());
  CHECK(c.e2e_methods.size() == 5);  // the default pipelines, as in e2e mode
  CHECK(c.statistics.seed == 3);
  CHECK(c.statistics.bootstrap_resamples == 500);
  CHECK(c.statistics.permutation_resamples == 10000);  // default kept
  const std::string e = error_of(nlohmann::json::parse(R"({"mode": "both", "datasets": ["ruler:vt", "scbench:/x"],
      "capture": {"query_agnostic": true, "window": 16},
      "report": {"statistics": {"level": 1.5, "bootstrap_resamples": 10, "seeds": 1}}})"));
  CHECK_THAT(e, Catch::Contains("is multi-turn: rank mode only (both prunes one prompt)"));
  CHECK_THAT(e, Catch::Contains("capture.query_agnostic: is rank mode's; both runs take the kvpress pipeline"));
  CHECK_THAT(e, Catch::Contains("both mode needs them equal"));
  CHECK_THAT(e, Catch::Contains("report.statistics.level: must lie in (0.5, 1)"));
  CHECK_THAT(e, Catch::Contains("report.statistics.bootstrap_resamples: must be at least 100"));
  CHECK_THAT(e, Catch::Contains("unknown key 'seeds' (did you mean 'seed'?)"));
  CHECK_THAT(error_of(nlohmann::json::parse(R"({"mode": "bath", "datasets": ["ruler:vt"]})")),
             Catch::Contains("'bath' is not one of rank, e2e, both"));
}
