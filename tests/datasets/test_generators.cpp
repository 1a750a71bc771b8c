// RULER generators and the needle grid: every task fits 1K/4K/8K budgets (and fills >= 90% of them),
// evidence token spans decode to the needles, and generation is deterministic in the seed.
#include <fstream>
#include <map>
#include <sstream>

#include "datasets/dataset_spec.h"
#include "datasets/ruler.h"
#include "evaluation/task_score.h"
#include "tests/datasets/datasets_test_util.h"

using namespace claa;
using namespace claa::test;

namespace {

DatasetOptions options_for(int64_t length, uint64_t seed = 42) {
  DatasetOptions o;
  o.length = length;
  o.samples = 1;
  o.seed = seed;
  o.haystack_dir = fixture("essays");
  o.squad_path = fixture("squad_mini.json");
  o.hotpotqa_path = fixture("hotpot_mini.json");
  o.niah_depths = {35};
  return o;
}

std::vector<std::string> all_specs() {
  std::vector<std::string> specs;
  for (const std::string& t : ruler_tasks()) specs.push_back("ruler:" + t);
  specs.push_back("niah");
  return specs;
}

// Generated once per (spec, length): the budget and evidence tests share them.
const Sample& generated(const std::string& spec, int64_t length) {
  static std::map<std::pair<std::string, int64_t>, Sample> cache;
  auto key = std::make_pair(spec, length);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto samples = load_dataset(parse_dataset_spec(spec), options_for(length), &smollm2_tokenizer(), smollm2_chat());
    REQUIRE(samples.size() == 1);
    it = cache.emplace(key, samples[0]).first;
  }
  return it->second;
}

}  // namespace

TEST_CASE("every generated task fits its length budget and nearly fills it", "[datasets][generators]") {
  const Tokenizer& tok = smollm2_tokenizer();
  for (int64_t length : {1024, 4096, 8192}) {
    for (const std::string& spec : all_specs()) {
      const Sample& s = generated(spec, length);
      PromptBuild pb = build_prompt(tok, smollm2_chat(), s);
      int64_t used = static_cast<int64_t>(pb.ids.size()) + s.max_new_tokens;
      INFO(spec << " at " << length << ": " << pb.ids.size() << " prompt + " << s.max_new_tokens << " output tokens");
      CHECK(used <= length);
      CHECK(used >= length * 9 / 10);
      CHECK(!s.answers.empty());
      CHECK(!s.evidence.empty());
      CHECK(pb.context_token_span.first < pb.context_token_span.second);
    }
  }
}

TEST_CASE("evidence token spans decode to the needle text, tightly", "[datasets][generators]") {
  const Tokenizer& tok = smollm2_tokenizer();
  for (int64_t length : {1024, 4096, 8192}) {
    for (const std::string& spec : all_specs()) {
      const Sample& s = generated(spec, length);
      PromptBuild pb = build_prompt(tok, smollm2_chat(), s);
      REQUIRE(pb.evidence_token_spans.size() == s.evidence.size());
      for (size_t i = 0; i < s.evidence.size() && i < 12; ++i) {
        auto [first, last] = pb.evidence_token_spans[i];
        std::string needle = s.context.substr(s.evidence[i].begin, s.evidence[i].end - s.evidence[i].begin);
        std::string decoded = tok.decode({pb.ids.begin() + first, pb.ids.begin() + last});
        INFO(spec << " at " << length << " evidence " << i << ": '" << needle << "' decoded '" << decoded << "'");
        CHECK(decoded.find(needle) != std::string::npos);
        CHECK(last - first <= tok.encode(needle, false).size() + 2);
      }
    }
  }
}

TEST_CASE("niah needles hold their values and the answers", "[datasets][generators]") {
  const Sample& s = generated("ruler:niah_multikey_1", 4096);
  REQUIRE(s.evidence.size() == 1);
  std::string needle = s.context.substr(s.evidence[0].begin, s.evidence[0].end - s.evidence[0].begin);
  CHECK(needle.rfind("One of the special magic numbers for ", 0) == 0);
  CHECK(needle.find(s.answers[0]) != std::string::npos);
  CHECK(s.answer_prefix.find("The special magic number for") != std::string::npos);
  CHECK(s.scorer == "string_match_all");
  CHECK(score_sample(s, "It is " + s.answers[0] + ".") == 100.0);
  const Sample& mv = generated("ruler:niah_multivalue", 1024);
  CHECK(mv.answers.size() == 4);
  CHECK(mv.evidence.size() == 4);
  CHECK(generated("ruler:qa_1", 1024).scorer == "string_match_part");
}

TEST_CASE("the same seed gives byte-identical JSONL, another seed differs", "[datasets][generators]") {
  const Tokenizer& tok = smollm2_tokenizer();
  auto make = [&](const std::string& spec, uint64_t seed) {
    DatasetOptions o = options_for(1024, seed);
    o.samples = 2;
    return samples_to_jsonl(load_dataset(parse_dataset_spec(spec), o, &tok, smollm2_chat()));
  };
  for (const std::string spec : {"ruler:niah_single_2", "ruler:niah_multikey_3", "ruler:vt", "ruler:cwe", "ruler:fwe",
                                 "ruler:qa_2"}) {
    INFO(spec);
    std::string a = make(spec, 7), b = make(spec, 7), c = make(spec, 8);
    CHECK(a == b);
    CHECK(a != c);
  }
  // Through the file writer too: two files with identical bytes, reloadable as jsonl:F.
  DatasetOptions o = options_for(1024, 3);
  auto samples = load_dataset(parse_dataset_spec("ruler:niah_single_1"), o, &tok, smollm2_chat());
  std::string dir = std::filesystem::temp_directory_path().string();
  write_samples_jsonl(dir + "/claa_gen_a.jsonl", samples);
  write_samples_jsonl(dir + "/claa_gen_b.jsonl", load_dataset(parse_dataset_spec("ruler:niah_single_1"), o, &tok,
                                                             smollm2_chat()));
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK(slurp(dir + "/claa_gen_a.jsonl") == slurp(dir + "/claa_gen_b.jsonl"));
  CHECK(!std::filesystem::exists(dir + "/claa_gen_a.jsonl.tmp"));
  auto reloaded = load_dataset(parse_dataset_spec("jsonl:" + dir + "/claa_gen_a.jsonl"), o, nullptr, std::nullopt);
  CHECK(samples_to_jsonl(reloaded) == samples_to_jsonl(samples));
}

TEST_CASE("essay tasks without an essay folder fail with the fix", "[datasets][generators]") {
  DatasetOptions o = options_for(1024);
  o.haystack_dir = "/nonexistent/claa-essays";
  try {
    load_dataset(parse_dataset_spec("ruler:niah_single_2"), o, &smollm2_tokenizer(), smollm2_chat());
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("scripts/fetch_haystack.sh") != std::string::npos);
  }
}

TEST_CASE("dataset specs parse", "[datasets]") {
  CHECK(parse_dataset_spec("ruler:niah_single_1").kind == "ruler");
  CHECK(parse_dataset_spec("vt").arg == "vt");
  CHECK(parse_dataset_spec("niah").kind == "niah");
  CHECK(parse_dataset_spec("longbench:/data/lb").arg == "/data/lb");
  CHECK(parse_dataset_spec("jsonl:f.jsonl").kind == "jsonl");
  CHECK_THROWS_AS(parse_dataset_spec("ruler:nope"), Error);
  CHECK_THROWS_AS(parse_dataset_spec("csv:x"), Error);
  CHECK_THROWS_AS(parse_dataset_spec("jsonl:"), Error);
}
