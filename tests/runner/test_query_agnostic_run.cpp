// Rank mode, query-agnostic (capture.query_agnostic): heuristics score a capture of the prompt up to
// the context's end, as kvpress compresses the context before the question is seen; the oracle comes
// from the whole prompt's answer and is compared on the same positions. Through the real CLI with the
// default model on the CPU, beside the same config without the option.
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/catch.h"
#include "tests/cli_run.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

std::string write_config(const std::string& dir, bool agnostic, const std::string& mode = "rank") {
  nlohmann::json c = {{"name", "query_agnostic_test"},
                      {"mode", mode},
                      {"datasets", {{{"spec", "ruler:niah_single_1"}, {"length", 512}, {"samples", 1}, {"seed", 7}}}},
                      {"heuristics", {"tova", "knorm"}},
                      {"keep_rates", {0.2}},
                      {"capture", {{"query_agnostic", agnostic}}},
                      {"output", dir}};
  if (mode == "e2e") c["e2e"] = {{"methods", {"fastkv"}}};
  const std::string path = dir + ".json";
  std::ofstream(path) << c.dump(2);
  return path;
}

nlohmann::json run(bool agnostic) {
  const std::string dir = claa::test::fresh_temp_path(agnostic ? "qa_agnostic" : "qa_aware").string();
  std::string out;
  const int rc = run_cli("run " + write_config(dir, agnostic) + " --out " + dir + " --no-report", &out);
  INFO(out);
  REQUIRE(rc == 0);
  return nlohmann::json::parse(read_all(dir + "/samples.jsonl"));
}

}  // namespace

TEST_CASE("Rank mode query-agnostic: heuristics score the context alone, the oracle is compared there",
          "[runner][kvpress][model]") {
  default_model_path();
  const nlohmann::json agnostic = run(true), aware = run(false);
  // The same prompt and answer (one oracle); the heuristics saw the context only.
  CHECK(agnostic["answer"] == aware["answer"]);
  CHECK_FALSE(aware.contains("query_agnostic_tokens"));
  const int64_t n = agnostic["prompt_tokens"].get<int64_t>(),
                context = agnostic["query_agnostic_tokens"].get<int64_t>();
  CHECK(context > 100);
  CHECK(context < n - 10);  // the question, chat suffix and answer prefix are left out
  // TOVA reads the last query: the context's last token here, the question's last there.
  bool tova_differs = false;
  for (size_t l = 0; l < agnostic["heuristics"]["tova"]["layers"].size(); ++l)
    tova_differs |=
        agnostic["heuristics"]["tova"]["layers"][l]["spearman"] != aware["heuristics"]["tova"]["layers"][l]["spearman"];
  CHECK(tova_differs);

  const std::string dir = claa::test::fresh_temp_path("qa_e2e").string();
  std::string out;
  CHECK(run_cli("run " + write_config(dir, true, "e2e") + " --out " + dir, &out) != 0);
  CHECK(out.find("capture.query_agnostic: is rank mode's") != std::string::npos);
}
