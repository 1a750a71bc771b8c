// `claa bench capture --profile`: one more capture timed per operator, with the capture's taps and the
// oracle's step 0 under their own names, once per layer of the prefill each (decode steps and the
// answer pass feed neither), so a user sees what a rank run adds to a plain prefill.
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/catch.h"
#include "tests/cli_run.h"

namespace {

// The calls column of an operator's row in the profile table ("name  seconds  share%  calls"), or -1.
int calls_of(const std::string& table, const std::string& op) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream row(line);
    std::string name, share;
    double seconds = 0;
    int calls = -1;
    if (row >> name >> seconds >> share >> calls && name == op && share.ends_with('%')) return calls;
  }
  return -1;
}

}  // namespace

TEST_CASE("bench capture --profile names the capture taps and the oracle once per prefill layer", "[cli][bench]") {
  const std::string config = std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/model/tiny/llama3/config.json";
  const int layers = nlohmann::json::parse(read_all(config))["num_hidden_layers"].get<int>();
  std::string out;
  REQUIRE(run_cli("bench capture --random-weights " + config + " --tokens 48 --new-tokens 3 --heuristics h2o,knorm --profile",
                  &out) == 0);
  INFO(out);
  REQUIRE(out.find("profile of one capture") != std::string::npos);
  // Per prefill layer: the attention inputs, the values and the layer's output (statistics) pass the taps.
  CHECK(calls_of(out, "claa::capture") == 3 * layers);
  CHECK(calls_of(out, "claa::oracle") == layers);
  CHECK(out.find("capture taps") != std::string::npos);  // and its kind in the second table
}
