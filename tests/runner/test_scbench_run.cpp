// SCBench end to end through the real CLI with the default model on the CPU: a multi-turn fixture
// sample (3 turns, short output budget, FastKV and CLAA) yields a record with one entry per turn and a
// report with one per-turn row per heuristic; an e2e config with SCBench is refused before any load.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int run_cli(const std::string& args, std::string& output) {
  const std::string log = (fs::temp_directory_path() / ("claa_scb_cli_" + std::to_string(getpid()) + ".log")).string();
  int status = std::system((std::string(CLAA_BINARY) + " " + args + " > " + log + " 2>&1").c_str());
  output = read_all(log);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string write_config(const std::string& dir, const std::string& mode) {
  const nlohmann::json c = {
      {"name", "scbench_test"}, {"mode", mode},
      {"datasets", {{{"spec", "scbench:" + source_path("tests/fixtures/datasets/scbench/scbench_kv.jsonl")},
                     {"max_new_tokens", 8}}}},
      {"heuristics", {"fastkv", "claa"}}, {"keep_rates", {0.2}}, {"output", dir}};
  const std::string path = dir + ".json";
  std::ofstream(path) << c.dump(2);
  return path;
}

}  // namespace

TEST_CASE("SCBench fixture end to end: per-turn records and report rows", "[runner][scbench][model]") {
  default_model_path();  // fail clearly when setup has not fetched the model
  const std::string dir = claa::test::fresh_temp_path("scb_run").string();
  std::string out;
  REQUIRE(run_cli("run " + write_config(dir, "rank") + " --out " + dir, out) == 0);
  INFO(out);
  const nlohmann::json rec = nlohmann::json::parse(read_all(dir + "/samples.jsonl"));
  CHECK(rec["dataset"] == "scbench:scbench_kv@4096");
  REQUIRE(rec["turns"].size() == 3);
  for (size_t t = 0; t < 3; ++t) {
    const auto& turn = rec["turns"][t];
    CHECK(turn["turn"] == t + 1);
    CHECK_FALSE(turn.contains("context_mismatch"));
    CHECK(turn["context_tokens"].get<int>() > 50);
    if (turn["empty_answer"].get<bool>()) continue;
    for (const char* h : {"fastkv", "claa"}) {
      REQUIRE(turn["heuristics"].contains(h));
      CHECK(turn["heuristics"][h]["one_shot"].size() == 30);  // SmolLM2-135M layers
    }
  }
  // Turn 1: the one-shot ranking is the fresh one.
  CHECK(rec["turns"][0]["heuristics"]["claa"]["one_shot"] == rec["turns"][0]["heuristics"]["claa"]["fresh"]);
  const std::string report = read_all(dir + "/report.md");
  CHECK(report.find("## Multi-turn: how a one-shot ranking ages") != std::string::npos);
  for (const char* row : {"| claa | 1 |", "| claa | 3 |", "| fastkv | 2 |"}) CHECK(report.find(row) != std::string::npos);
  const nlohmann::json summary = nlohmann::json::parse(read_all(dir + "/summary.json"));
  CHECK(summary["turns"].size() == 6);  // 2 heuristics × 3 turns
}

TEST_CASE("SCBench in e2e mode is refused at config validation", "[runner][scbench]") {
  const std::string dir = (fs::temp_directory_path() / ("claa_scb_e2e_" + std::to_string(getpid()))).string();
  std::string out;
  CHECK(run_cli("run " + write_config(dir, "e2e") + " --out " + dir, out) != 0);
  CHECK(out.find("multi-turn: rank mode only") != std::string::npos);
}
