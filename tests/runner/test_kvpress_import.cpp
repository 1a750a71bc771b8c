// `claa import --kvpress`: kvpress's result folders (config.yaml + predictions.csv as its evaluate.py
// writes them) become a claa e2e run. Hand-written folders in kvpress's own layout (pandas' CSV with an
// unnamed index column, quoted fields, a list column), so every score is known: RULER string match.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/csv.h"
#include "core/error.h"
#include "harness/runner/kvpress_import.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

void folder(const fs::path& dir, const std::string& press, double ratio, const std::string& csv) {
  write(dir / "config.yaml",
        "dataset: ruler\ndata_dir: '4096'\nmodel: meta-llama/Meta-Llama-3.1-8B-Instruct\npress_name: " + press +
            "\ncompression_ratio: " + std::to_string(ratio) +
            "\nquery_aware: false\nmodel_kwargs:\n  attn_implementation: sdpa\n");
  write(dir / "predictions.csv", csv);
}

}  // namespace

TEST_CASE("CSV as pandas writes it: quotes, doubled quotes, commas and line breaks inside fields", "[kvpress][csv]") {
  const auto rows = claa::parse_csv("a,b,c\n1,\"x, \"\"y\"\"\",\"two\nlines\"\r\n,,\n", "t.csv");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1] == std::vector<std::string>{"1", "x, \"y\"", "two\nlines"});
  CHECK(rows[2] == std::vector<std::string>{"", "", ""});
  CHECK_THROWS_WITH(claa::parse_csv("a\n\"open", "t.csv"),
                    Catch::Contains("t.csv: line 2: a quoted field is never closed"));
  CHECK_THROWS_WITH(claa::parse_csv("\"a\"b\n", "t.csv"), Catch::Contains("text after a closing quote"));
}

TEST_CASE("claa import --kvpress reads kvpress's folders into an e2e run, scored by RULER's rule",
          "[runner][kvpress]") {
  claa::test::TempDir in("kvpress_import_in"), out("kvpress_import_out");
  const std::string header = ",task,question,answer_prefix,answer,max_new_tokens,predicted_answer,compression_ratio\n";
  folder(in.path / "ruler__4096__m__no_press__0.00", "no_press", 0.0,
         header +
             "0,niah_single_1,q,p,['3815287'],128, 3815287.,0.0\n"
             "1,niah_multikey_1,q,p,\"['12', '34']\",128,\"34, then 12\",0.0\n"
             "2,qa_1,q,p,\"['Paris', \"\"Paris, France\"\"]\",32, paris,0.0\n");
  folder(in.path / "ruler__4096__m__snapkv__0.75", "snapkv", 0.75,
         header +
             "0,niah_single_1,q,p,['3815287'],128, 3.,0.75\n"
             "1,niah_multikey_1,q,p,\"['12', '34']\",128, 34,0.75\n"
             "2,qa_1,q,p,\"['Paris', \"\"Paris, France\"\"]\",32, France,0.75\n");
  const int64_t n = claa::import_kvpress(
      {(in.path / "ruler__4096__m__no_press__0.00").string(), (in.path / "ruler__4096__m__snapkv__0.75").string()},
      out.path.string());
  REQUIRE(n == 3);
  std::ifstream samples(out.path / "samples.jsonl");
  std::vector<nlohmann::json> recs;
  for (std::string line; std::getline(samples, line);) recs.push_back(nlohmann::json::parse(line));
  REQUIRE(recs.size() == 3);
  CHECK(recs[0]["id"] == "niah_single_1-0");
  CHECK(recs[0]["dataset"] == "ruler:niah_single_1@4096");
  REQUIRE(recs[0]["results"].size() == 2);
  CHECK(recs[0]["results"][0]["method"] == "full");
  CHECK(recs[0]["results"][0]["score"] == 100.0);
  CHECK(recs[0]["results"][1]["method"] == "kvpress/snapkv");
  CHECK(recs[0]["results"][1]["keep"] == 0.25);
  CHECK(recs[0]["results"][1]["score"] == 0.0);
  // string_match_all: both keys (100), then one of two (50).
  CHECK(recs[1]["results"][0]["score"] == 100.0);
  CHECK(recs[1]["results"][1]["score"] == 50.0);
  // qa tasks: string_match_part, case-insensitive; "France" is in neither reference, "paris" in one.
  CHECK(recs[2]["results"][0]["score"] == 100.0);
  CHECK(recs[2]["results"][1]["score"] == 0.0);

  // The same method × ratio twice, or a non-RULER folder, is refused naming the file.
  CHECK_THROWS_WITH(claa::import_kvpress({(in.path / "ruler__4096__m__snapkv__0.75").string(),
                                          (in.path / "ruler__4096__m__snapkv__0.75").string()},
                                         out.path.string()),
                    Catch::Contains("is in two folders"));
  folder(in.path / "longbench", "snapkv", 0.5, header);
  write(in.path / "longbench" / "config.yaml", "dataset: longbench\npress_name: snapkv\n");
  CHECK_THROWS_WITH(claa::import_kvpress({(in.path / "longbench").string()}, out.path.string()),
                    Catch::Contains("is not ruler"));
}
