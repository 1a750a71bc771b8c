// LongBench v2, InfiniteBench and SCBench scorers against goldens from the benchmarks' own Python
// (tools/make_benchmark_goldens.py → tests/fixtures/datasets/benchmark_scorer_goldens.json).
#include <fstream>

#include <nlohmann/json.hpp>

#include "datasets/longbench_v2.h"
#include "evaluation/infinitebench_scorers.h"
#include "evaluation/task_score.h"
#include "tests/datasets/datasets_test_util.h"

using namespace claa;
using namespace claa::test;

namespace {

double score_case(const std::string& task, const std::string& prediction, const std::vector<std::string>& labels) {
  if (task == "longbench_v2") return longbench_v2_score(prediction, labels.at(0));
  return benchmark_task_score(task, prediction, labels);
}

}  // namespace

TEST_CASE("benchmark scorers match the reference Python goldens", "[datasets][scorers][benchmarks]") {
  std::ifstream in(fixture("benchmark_scorer_goldens.json"));
  REQUIRE(in.good());
  const nlohmann::json goldens = nlohmann::json::parse(in);
  REQUIRE(goldens.size() >= 30);
  for (const auto& g : goldens) {
    const std::string task = g["task"], prediction = g["prediction"];
    const auto labels = g["labels"].get<std::vector<std::string>>();
    INFO(task << " | " << prediction);
    CHECK(score_case(task, prediction, labels) == Approx(g["score"].get<double>()).margin(1e-12));
  }
}

TEST_CASE("LongBench v2 answer extraction follows pred.py", "[datasets][scorers][benchmarks]") {
  CHECK(longbench_v2_extract_answer("The correct answer is (B)") == 'B');
  CHECK(longbench_v2_extract_answer("The *correct* answer is C") == 'C');
  CHECK_FALSE(longbench_v2_extract_answer("Answer: B").has_value());
}

TEST_CASE("InfiniteBench first_int_match takes the first ASCII digit run", "[datasets][scorers][benchmarks]") {
  CHECK(first_int_match("key 123 and 456") == "123");
  CHECK(first_int_match("none").empty());
  CHECK(first_int_match("99") == "99");
}

TEST_CASE("benchmark_task_score refuses unknown tasks and empty answers", "[datasets][scorers][benchmarks]") {
  CHECK_THROWS_AS(benchmark_task_score("code_run", "1", {"1"}), Error);
  CHECK_THROWS_AS(benchmark_task_score("passkey", "1", {}), Error);
}
