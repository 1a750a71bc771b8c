// JSONL loading errors and LongBench prompts: file:line + field messages, skip mode, the verbatim
// dataset2prompt.json templates, the chat exceptions and middle truncation.
#include <filesystem>
#include <fstream>

#include "datasets/dataset_spec.h"
#include "datasets/longbench.h"
#include "evaluation/task_score.h"
#include "tests/datasets/datasets_test_util.h"

using namespace claa;
using namespace claa::test;

namespace {

const char* const kBadJsonl =
    "{\"context\": \"The key is 42.\", \"question\": \"What is the key?\", \"answers\": [\"42\"], \"evidence\": [\"42\"]}\n"
    "{\"context\": \"broken\", \"question\": \n"
    "{\"context\": \"x\", \"question\": \"q\", \"answers\": 7}\n"
    "\n"
    "{\"context\": \"y\", \"question\": \"q2\", \"answers\": [\"y\"]}\n";

}  // namespace

TEST_CASE("a malformed JSONL line names file:line and the field", "[datasets][jsonl]") {
  std::string path = write_temp("claa_bad.jsonl", kBadJsonl);
  try {
    load_jsonl_samples(path, OnError::Stop);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find(path + ":2:") != std::string::npos);
    CHECK(msg.find("invalid JSON") != std::string::npos);
  }
  std::string path3 = write_temp("claa_bad_field.jsonl",
                                 "{\"context\": \"a\", \"question\": \"b\", \"answers\": [\"a\"]}\n"
                                 "{\"context\": \"x\", \"question\": \"q\", \"answers\": 7}\n");
  try {
    load_jsonl_samples(path3, OnError::Stop);
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(msg.find(path3 + ":2:") != std::string::npos);
    CHECK(msg.find("field 'answers'") != std::string::npos);
  }
}

TEST_CASE("skip mode skips bad lines and keeps the rest", "[datasets][jsonl]") {
  std::string path = write_temp("claa_bad_skip.jsonl", kBadJsonl);
  JsonlReadStats stats;
  auto samples = load_jsonl_samples(path, OnError::Skip, &stats);
  REQUIRE(samples.size() == 2);
  CHECK(stats.skipped == 2);
  REQUIRE(stats.errors.size() == 2);
  CHECK(stats.errors[1].find(":3: field 'answers'") != std::string::npos);
  CHECK(samples[0].evidence.size() == 1);
  CHECK(samples[0].context.substr(samples[0].evidence[0].begin, 2) == "42");
  CHECK(samples[1].answers == std::vector<std::string>{"y"});
}

TEST_CASE("own-format records report bad fields", "[datasets][jsonl]") {
  Sample s;
  s.id = "a";
  s.task = "t";
  s.context = "abc";
  s.evidence = {{0, 2}};
  nlohmann::json j = sample_to_json(s);
  CHECK(sample_to_json(sample_from_json(j)) == j);
  j["evidence"] = nlohmann::json::array({nlohmann::json::array({0, 9})});
  std::string path = write_temp("claa_bad_sample.jsonl", j.dump() + "\n");
  CHECK_THROWS_WITH(load_jsonl_samples(path), Catch::Contains(path + ":1: field 'evidence'"));
}

TEST_CASE("LongBench prompts render the verbatim dataset2prompt.json templates", "[datasets][longbench]") {
  auto samples = load_longbench(fixture("longbench"));
  REQUIRE(samples.size() == 3);
  const Sample& hp = samples[0];
  CHECK(hp.task == "hotpotqa");
  CHECK(hp.id == "hp-1");
  CHECK(render_task(hp).text ==
        "Answer the question based on the given passages. Only give me the answer and do not output any other words."
        "\n\nThe following are given passages.\nPassage 1:\nThe lantern market is held in Varden every spring.\n"
        "Passage 2:\nThe harbor of Ostin is quiet.\n\nAnswer the question based on the given passages. Only give me "
        "the answer and do not output any other words.\n\nQuestion: Which city hosts the lantern market?\nAnswer:");
  CHECK(hp.chat);
  CHECK(hp.max_new_tokens == 32);
  const Sample& tr = samples[2];
  CHECK(tr.task == "trec");
  CHECK(render_task(tr).text ==
        "Please determine the type of the question below. Here are some examples of questions.\n\nQuestion: Who "
        "wrote Hamlet?\nType: Individual\nQuestion: How far is the moon?\nType: Distance\n\nWhat is the capital of "
        "Peru?");
  CHECK_FALSE(tr.chat);
  CHECK(tr.max_new_tokens == 64);
  CHECK(score_sample(tr, "City\nmore") == 1.0);
  LongBenchOptions claa_code;
  claa_code.trec_max_new_tokens = 4;
  CHECK(load_longbench(fixture("longbench/trec.jsonl"), claa_code)[0].max_new_tokens == 4);
  CHECK(score_sample(hp, "Varden") == 1.0);
}

TEST_CASE("LongBench middle truncation keeps the first and last halves", "[datasets][longbench]") {
  const Tokenizer& tok = smollm2_tokenizer();
  Sample s = load_longbench(fixture("longbench/trec.jsonl"))[0];
  std::string ctx;
  for (int i = 0; i < 200; ++i) ctx += "Question: What is item " + std::to_string(i) + "?\nType: Entity\n";
  s.context = ctx;
  std::string full = render_task(s).text;
  std::vector<int32_t> ids = tok.encode(full, false);
  REQUIRE(ids.size() > 300);
  PromptOptions po;
  po.max_prompt_tokens = 300;
  PromptBuild pb = build_prompt(tok, smollm2_chat(), s, po);
  CHECK(pb.truncated);
  std::string head = tok.decode({ids.begin(), ids.begin() + 150});
  std::string tail = tok.decode({ids.end() - 150, ids.end()});
  CHECK(pb.text == head + tail);  // trec: no chat template
  CHECK(pb.text.rfind("Please determine the type", 0) == 0);
  CHECK(pb.text.size() >= 20);
  CHECK(pb.text.substr(pb.text.size() - 20) == full.substr(full.size() - 20));
  CHECK(std::abs(static_cast<int64_t>(pb.ids.size()) - 300) <= 4);  // re-tokenising at the seam may merge

  // A chat dataset: truncation happens before the chat template wraps the text.
  Sample hp = load_longbench(fixture("longbench/hotpotqa.jsonl"))[0];
  hp.context = ctx;
  PromptBuild chat_pb = build_prompt(tok, smollm2_chat(), hp, po);
  CHECK(chat_pb.truncated);
  CHECK(chat_pb.text.find("<|im_start|>user\nAnswer the question based on the given passages.") != std::string::npos);
  CHECK(chat_pb.text.find("Question: Which city hosts the lantern market?\nAnswer:<|im_end|>") != std::string::npos);
}
