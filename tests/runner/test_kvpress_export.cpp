// `claa export --kvpress`: an e2e run's answers as kvpress's evaluate.py folders. The run here is two
// RULER samples (regenerated from the run's config with the default model's tokenizer) with
// hand-written answers and scores, so every field of the output is known in advance.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "harness/runner/kvpress_export.h"
#include "tests/catch.h"
#include "tests/cli_run.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

nlohmann::json record(int i, const std::string& full, double full_score, const std::string& press, double press_score) {
  return {{"id", "niah_single_1-1024-" + std::to_string(i)},
          {"index", i},
          {"mode", "e2e"},
          {"task", "niah_single_1"},
          {"dataset", "ruler:niah_single_1@1024"},
          {"results",
           {{{"method", "full"}, {"keep", 1.0}, {"answer", full}, {"score", full_score}},
            {{"method", "kvpress:snapkv@kvpress"}, {"keep", 0.75}, {"answer", press}, {"score", press_score}},
            {{"method", "fastkv"}, {"keep", 0.25}, {"answer", full}, {"score", full_score}}}}};
}

}  // namespace

TEST_CASE("claa export --kvpress writes kvpress's folders, predictions, metrics and config", "[runner][kvpress]") {
  const std::string model = default_model_path();
  claa::test::TempDir run("kvpress_export_run"), out("kvpress_export_out");
  const nlohmann::json config = {
      {"name", "export_test"},
      {"mode", "e2e"},
      {"datasets", {{{"spec", "ruler:niah_single_1"}, {"length", 1024}, {"samples", 2}, {"seed", 31}}}},
      {"e2e", {{"methods", {"kvpress:snapkv@kvpress", "fastkv"}}}},
      {"keep_rates", {0.25, 0.75}}};
  std::ofstream(run.path / "run.json") << nlohmann::json{
      {"config", config},
      {"model", {{"source", model}}},
      {"git_commit", "abc1234"}}.dump();
  std::ofstream(run.path / "samples.jsonl") << record(0, " 3815287.", 100, " 3.", 0).dump() << "\n"
                                            << record(1, " 1906997.", 100, " 1906997.", 100).dump() << "\n";

  const std::vector<std::string> dirs = claa::export_kvpress(run.path.string(), out.path.string());
  REQUIRE(dirs.size() == 3);
  CHECK(fs::path(dirs[0]).filename() == "ruler__1024__SmolLM2-135M-Instruct.Q4_1__no_press__0.00");
  CHECK(fs::path(dirs[1]).filename() == "ruler__1024__SmolLM2-135M-Instruct.Q4_1__snapkv__0.25");
  CHECK(fs::path(dirs[2]).filename() == "ruler__1024__SmolLM2-135M-Instruct.Q4_1__claa-fastkv__0.75");

  const std::vector<std::string> csv = lines_of(read_all((fs::path(dirs[1]) / "predictions.csv").string()));
  REQUIRE(csv.size() == 3);
  CHECK(csv[0] == "id,task,question,answer_prefix,answer,max_new_tokens,predicted_answer,compression_ratio,claa_score");
  // The gold fields come from the regenerated sample (seed 31: the first needle is 3815287).
  CHECK(csv[1] ==
        "niah_single_1-1024-0,niah_single_1,What is the special magic number for cathartics-wobbled mentioned in the "
        "provided text?, The special magic number for cathartics-wobbled mentioned in the provided text is,['3815287'],"
        "128, 3.,0.25,0");
  CHECK(nlohmann::json::parse(read_all((fs::path(dirs[1]) / "metrics.json").string())) ==
        nlohmann::json::parse(R"({"niah_single_1": {"string_match": 50.0}})"));
  CHECK(nlohmann::json::parse(
            read_all((fs::path(dirs[0]) / "metrics.json").string()))["niah_single_1"]["string_match"] == 100.0);
  const std::string yaml = read_all((fs::path(dirs[1]) / "config.yaml").string());
  CHECK(yaml.find("dataset: \"ruler\"\n") != std::string::npos);
  CHECK(yaml.find("press_name: \"snapkv\"\n") != std::string::npos);
  CHECK(yaml.find("compression_ratio: 0.25\n") != std::string::npos);
  CHECK(yaml.find("query_aware: false\n") != std::string::npos);
  CHECK(yaml.find("claa_method: \"kvpress:snapkv@kvpress\"\n") != std::string::npos);

  bool query_aware = false;
  CHECK(claa::kvpress_press_name("kvpress_query_aware:streamingllm", query_aware) == "streaming_llm");
  CHECK(query_aware);
  CHECK(claa::kvpress_press_name("kvpress:snapkv", query_aware) == "claa-kvpress-snapkv");  // claa's defaults
  CHECK(claa::kvpress_press_name("kvpress:adakv@kvpress", query_aware) == "adakv_snapkv");

  // A rank run, or a non-RULER dataset, is refused with one line.
  nlohmann::json rank = config;
  rank["mode"] = "rank";
  std::ofstream(run.path / "run.json") << nlohmann::json{{"config", rank}}.dump();
  CHECK_THROWS_WITH(claa::export_kvpress(run.path.string(), out.path.string()),
                    Catch::Contains("an e2e run is needed"));
}
