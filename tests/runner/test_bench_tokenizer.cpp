// `claa bench capture --tokenizer`: a random-weight model borrows a tokenizer so KVzip, which writes its
// reconstruction request as text, is measured too; without one KVzip is left out by name, and a
// tokenizer whose ids the model does not have is refused in one line.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/catch.h"
#include "tests/cli_run.h"

namespace {

// The tiny Llama-3 config with a vocabulary as large as `vocab` (random weights need no files).
std::string tiny_config(int vocab) {
  nlohmann::json config =
      nlohmann::json::parse(read_all(std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/model/tiny/llama3/config.json"));
  config["vocab_size"] = vocab;
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("claa_bench_tok_" + std::to_string(getpid()) + "_" + std::to_string(vocab) + ".json"))
                               .string();
  std::ofstream(path) << config.dump();
  return path;
}

const std::string kTokenizer = std::string(CLAA_SOURCE_DIR) + "/tests/fixtures/tokenizer/synth_llama3.json";

}  // namespace

TEST_CASE("bench capture measures KVzip on a random-weight model given a tokenizer", "[cli][bench][kvzip]") {
  const std::string base = "bench capture --random-weights " + tiny_config(1024) + " --tokens 96 --new-tokens 4 ";
  std::string out;
  REQUIRE(run_cli(base + "--heuristics kvzip,h2o --tokenizer " + kTokenizer, &out) == 0);
  INFO(out);
  CHECK(out.find("kvzip") != std::string::npos);
  CHECK(out.find("score") != std::string::npos);

  REQUIRE(run_cli(base, &out) == 0);  // every heuristic, no tokenizer: KVzip left out, by name
  CHECK(out.find("kvzip left out") != std::string::npos);
  CHECK(out.find("--tokenizer") != std::string::npos);

  const std::string small = "bench capture --random-weights " + tiny_config(96) + " --tokens 64 --new-tokens 2 ";
  CHECK(run_cli(small + "--heuristics kvzip --tokenizer " + kTokenizer, &out) != 0);
  CHECK(out.find("exceed the model's vocabulary of 96") != std::string::npos);
}
