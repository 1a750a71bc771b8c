// LongBench v2, InfiniteBench and SCBench loaders on the committed fixtures (original formats):
// prompts as the references build them, a known answer scored right, and malformed files named
// FILE:LINE. SCBench: the turns' prompts share the context tokens.
#include <filesystem>
#include <fstream>

#include "datasets/dataset_spec.h"
#include "datasets/infinitebench.h"
#include "datasets/longbench_v2.h"
#include "datasets/scbench.h"
#include "evaluation/task_score.h"
#include "tests/datasets/datasets_test_util.h"

using namespace claa;
using namespace claa::test;

namespace {

// The error message of f(), or "" when it does not throw.
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<Sample> load(const std::string& spec) { return load_dataset(parse_dataset_spec(spec), {}, nullptr, std::nullopt); }

const Sample& by_task(const std::vector<Sample>& v, const std::string& task) {
  for (const Sample& s : v)
    if (s.task == task) return s;
  FAIL("no sample of task " << task);
  return v.front();
}

}  // namespace

TEST_CASE("LongBench v2 fixture: 0shot prompt and accuracy", "[datasets][benchmarks][longbench_v2]") {
  auto samples = load("longbench_v2:" + fixture("longbench_v2/data.json"));
  REQUIRE(samples.size() == 2);
  const Sample& s = samples[0];
  CHECK(s.id == "lbv2-fixture-1");
  CHECK(s.max_new_tokens == 128);
  CHECK(s.chat);
  CHECK(s.metadata["difficulty"] == "easy");
  // prompts/0shot.txt with $DOC$, $Q$, $C_A$.. replaced by the stripped fields (pred.py).
  const std::string expected =
      "Please read the following text and answer the question below.\n\n<text>\n" + s.context +
      "\n</text>\n\nWhat is the correct answer to this question: Which animal does the keeper of the lighthouse feed "
      "every evening?\nChoices:\n(A) A grey cat\n(B) A one-legged gull\n(C) A stray dog\n(D) A tame fox\n\n"
      "Format your response as follows: \"The correct answer is (insert answer here)\".";
  CHECK(render_task(s).text == expected);
  CHECK(s.context.rfind("The lighthouse", 0) == 0);  // stripped
  CHECK(score_sample(s, "The correct answer is (B)") == 1.0);
  CHECK(score_sample(s, "The correct answer is (A)") == 0.0);
  CHECK(sample_max_score(s) == 1.0);
}

TEST_CASE("LongBench v2: a bad record names file:line", "[datasets][benchmarks][longbench_v2]") {
  const std::string path = write_temp("claa_lbv2_bad.json",
                                      "[\n  {\"_id\": \"a\", \"question\": \"q\", \"choice_A\": \"1\", \"choice_B\": \"2\",\n"
                                      "   \"choice_C\": \"3\", \"choice_D\": \"4\", \"answer\": \"A\", \"context\": \"c\"},\n"
                                      "  {\"_id\": \"b\", \"question\": \"q\", \"choice_A\": \"1\", \"choice_B\": \"2\",\n"
                                      "   \"choice_C\": \"3\", \"choice_D\": \"4\", \"context\": \"c\"}\n]\n");
  std::string msg = error_of([&] { load_longbench_v2(path); });
  CHECK(msg.find(path + ":4: field 'answer': missing") != std::string::npos);
  const std::string broken = write_temp("claa_lbv2_broken.json", "[\n {\"_id\": \"a\",\n  \"question\": }\n]\n");
  msg = error_of([&] { load_longbench_v2(broken); });
  CHECK(msg.find(broken + ":3: invalid JSON") != std::string::npos);
  const std::string letter = write_temp("claa_lbv2_letter.jsonl",
                                        "{\"_id\": \"a\", \"question\": \"q\", \"choice_A\": \"1\", \"choice_B\": \"2\", "
                                        "\"choice_C\": \"3\", \"choice_D\": \"4\", \"answer\": \"E\", \"context\": \"c\"}\n");
  msg = error_of([&] { load_longbench_v2(letter); });
  CHECK(msg.find(letter + ":1: field 'answer': expected one of A, B, C, D") != std::string::npos);
}

TEST_CASE("InfiniteBench fixture: templates, budgets, evidence and scores", "[datasets][benchmarks][infinitebench]") {
  auto samples = load("infinitebench:" + fixture("infinitebench"));
  REQUIRE(samples.size() == 6);
  const Sample& pk = by_task(samples, "passkey");
  CHECK(pk.id == "passkey-0");
  CHECK(pk.max_new_tokens == 6);
  CHECK_FALSE(pk.chat);
  const std::string text = render_task(pk).text;
  CHECK(text.rfind("There is an important info hidden inside a lot of irrelevant text.", 0) == 0);
  CHECK(text.size() > 40);
  CHECK(text.substr(text.size() - 40) == "\n\nWhat is the pass key?\n\nThe pass key is");
  REQUIRE(pk.evidence.size() == 2);  // both mentions of the key
  CHECK(pk.context.substr(pk.evidence[0].begin, pk.evidence[0].end - pk.evidence[0].begin) == "71432");
  CHECK(score_sample(pk, "The pass key is 71432.") == 1.0);
  CHECK(score_sample(pk, "The pass key is 71433.") == 0.0);

  const Sample& kv = by_task(samples, "kv_retrieval");
  CHECK(kv.max_new_tokens == 50);
  CHECK(score_sample(kv, "\"0a1b2c3d-7777-4888-a999-bbbbccccdddd\"") == 1.0);
  const Sample& mc = by_task(samples, "longbook_choice_eng");
  CHECK(mc.answers == std::vector<std::string>{"Walking Georgie", "A"});
  CHECK(render_task(mc).text.find("Question: What does Tobias do every morning?\nA. Walking Georgie\nB. Baking bread\n"
                                  "C. Fishing in the canal\nD. Reading the paper\n\nThe letter of the correct answer is") !=
        std::string::npos);
  CHECK(score_sample(mc, " A") == 1.0);
  const Sample& qa = by_task(samples, "longbook_qa_eng");
  CHECK(score_sample(qa, "her grandmother's compass") == 1.0);
  CHECK(infinitebench_category("longbook_qa_eng") == "InfiniteBench QA");
}

TEST_CASE("InfiniteBench: bad lines and unknown files are named", "[datasets][benchmarks][infinitebench]") {
  const std::string dir = (std::filesystem::temp_directory_path() / "claa_ib_bad").string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/passkey.jsonl") << "{\"id\": 0, \"context\": \"c 1\", \"input\": \"q\", \"answer\": [\"1\"]}\n"
                                           "{\"id\": 1, \"context\": \"c\", \"answer\": [\"1\"]}\n";
  std::string msg = error_of([&] { load_infinitebench(dir); });
  CHECK(msg.find(dir + "/passkey.jsonl:2: field 'input': missing") != std::string::npos);
  const std::string empty = write_temp("passkey.jsonl", "{\"id\": 0, \"context\": \"c\", \"input\": \"q\", \"answer\": []}\n");
  CHECK(error_of([&] { load_infinitebench(empty); }).find(":1: field 'answer': empty") != std::string::npos);
  const std::string wrong = write_temp("code_run.jsonl", "{}\n");
  CHECK(error_of([&] { load_infinitebench(wrong); }).find("unknown InfiniteBench task 'code_run'") != std::string::npos);
}

TEST_CASE("SCBench fixture: turns, gold replies and per-turn answers", "[datasets][benchmarks][scbench]") {
  auto samples = load("scbench:" + fixture("scbench"));
  REQUIRE(samples.size() == 5);
  const Sample& kv = by_task(samples, "scbench_kv");
  CHECK(kv.id == "scbench_kv-0");
  REQUIRE(turn_count(kv) == 3);
  CHECK(kv.answers == std::vector<std::string>{"71aa"});
  CHECK(kv.follow_ups[0].previous_reply == "71aa");
  CHECK(kv.follow_ups[1].answers == std::vector<std::string>{"28c7"});
  CHECK(turn_sample(kv, 2).answers == std::vector<std::string>{"28c7"});
  CHECK(score_sample(turn_sample(kv, 1), "The value is 5f60") == 1.0);
  CHECK(score_sample(turn_sample(kv, 1), "The value is 71aa") == 0.0);
  CHECK_THROWS_AS(turn_sample(kv, 3), Error);

  const Sample& mc = by_task(samples, "scbench_choice_eng");
  CHECK(mc.answers == std::vector<std::string>{"Cork", "B"});
  CHECK(mc.follow_ups[0].question ==
        "Question: Who was the captain?\nA. Ines\nB. Marta\nC. Joao\nD. Rui\n\nThe the correct answer is");
  CHECK(mc.follow_ups[0].answers == std::vector<std::string>{"Ines", "A"});
  const Sample& vt = by_task(samples, "scbench_vt");
  CHECK(score_sample(vt, "AAAAA and BBBBB") == Approx(0.67));
  // max_turns cuts the conversation.
  DatasetOptions o;
  o.max_turns = 1;
  auto one = load_dataset(parse_dataset_spec("scbench:" + fixture("scbench/scbench_kv.jsonl")), o, nullptr, std::nullopt);
  REQUIRE(one.size() == 1);
  CHECK(one[0].follow_ups.empty());
  // A sample round-trips through the project's JSONL form, follow-ups included.
  CHECK((sample_from_json(sample_to_json(kv)).follow_ups == kv.follow_ups));
}

TEST_CASE("SCBench: every turn's prompt has turn 1's context tokens", "[datasets][benchmarks][scbench]") {
  auto samples = load("scbench:" + fixture("scbench/scbench_kv.jsonl"));
  const Sample& s = samples.at(0);
  const auto& tok = smollm2_tokenizer();
  PromptBuild first = build_prompt(tok, smollm2_chat(), s);
  for (size_t t = 1; t < turn_count(s); ++t) {
    PromptOptions o;
    o.turn = t;
    PromptBuild p = build_prompt(tok, smollm2_chat(), s, o);
    CHECK(p.context_token_span == first.context_token_span);
    REQUIRE(p.ids.size() > first.ids.size());
    // The whole first turn (through its generation prompt) is a prefix of turn t.
    CHECK(std::equal(first.ids.begin(), first.ids.end(), p.ids.begin()));
    CHECK(p.text.find("<|im_start|>assistant\n" + s.follow_ups[t - 1].previous_reply + "<|im_end|>\n<|im_start|>user\n" +
                      s.follow_ups[t - 1].question + "<|im_end|>\n<|im_start|>assistant\n") != std::string::npos);
  }
  PromptOptions bad;
  bad.turn = 3;
  CHECK_THROWS_AS(build_prompt(tok, smollm2_chat(), s, bad), Error);
}

TEST_CASE("SCBench: malformed turns name file:line", "[datasets][benchmarks][scbench]") {
  const std::string dir = (std::filesystem::temp_directory_path() / "claa_scb_bad").string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/scbench_kv.jsonl") << "{\"id\": 0, \"context\": \"c\", \"multi_turns\": [{\"input\": \"q\", \"answer\": \"a\"}]}\n"
                                              "{\"id\": 1, \"context\": \"c\", \"multi_turns\": []}\n";
  CHECK(error_of([&] { load_scbench(dir); }).find(dir + "/scbench_kv.jsonl:2: field 'multi_turns'") != std::string::npos);
  const std::string noanswer = write_temp("scbench_qa_eng.jsonl",
                                          "{\"context\": \"c\", \"multi_turns\": [{\"input\": \"q\", \"answer\": \"a\"}, {\"input\": \"q2\"}]}\n");
  CHECK(error_of([&] { load_scbench(noanswer); }).find(":1: field 'multi_turns'[1].answer: missing") != std::string::npos);
  const std::string empty = write_temp("scbench_vt.jsonl",
                                       "{\"context\": \"c\", \"multi_turns\": [{\"input\": \"q\", \"answer\": \"\"}]}\n");
  CHECK(error_of([&] { load_scbench(empty); }).find(":1: field 'multi_turns'[0].answer: expected a non-empty string") !=
        std::string::npos);
}

TEST_CASE("datasets list names every new benchmark and its files", "[datasets][benchmarks]") {
  std::string all;
  for (const std::string& l : dataset_catalog()) all += l + "\n";
  for (const char* needle : {"longbench_v2:FILE", "infinitebench:DIR  kv_retrieval", "scbench:DIR  scbench_kv",
                             "THUDM/LongBench-v2", "xinrongzhang2022/InfiniteBench", "microsoft/SCBench"})
    CHECK(all.find(needle) != std::string::npos);
  CHECK(dataset_kind_is_multi_turn(parse_dataset_spec("scbench:x").kind));
  CHECK_FALSE(dataset_kind_is_multi_turn(parse_dataset_spec("infinitebench:x").kind));
}

TEST_CASE("runs name new benchmarks per task, the others by spec as before", "[datasets][benchmarks]") {
  Sample s;
  s.task = "scbench_kv";
  CHECK(dataset_label("scbench:/data/scb", 4096, s) == "scbench:scbench_kv@4096");
  s.task = "hotpotqa";
  CHECK(dataset_label("longbench:/data/lb", 4096, s) == "longbench:/data/lb@4096");
  s.task = "niah_single_1";
  CHECK(dataset_label("ruler:niah_single_1", 2048, s) == "ruler:niah_single_1@2048");
}
