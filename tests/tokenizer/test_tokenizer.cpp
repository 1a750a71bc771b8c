// Tokenizer tests against goldens made by tools/make_tokenizer_goldens.py (HF tokenizers and
// llama.cpp agreeing on every string), plus unit tests of the pieces.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/cache_paths.h"
#include "core/error.h"
#include "core/utf8.h"
#include "formats/gguf.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

using namespace claa;

namespace {

// The model cache rule shared with the loader (core/cache_paths.h).
std::string model_path() { return default_model_path(); }

// The SmolLM2 tokenizer, loaded once. A missing model is a failure, not a skip: these goldens are
// the only check that we match the model's real tokenizer.
const Tokenizer& smollm2() {
  static std::unique_ptr<Tokenizer> tok;
  if (!tok) {
    std::string path = model_path();
    if (!std::filesystem::exists(path)) {
      FAIL("model file " << path << " not found: run scripts/setup.sh (or set CLAA_MODEL_DIR) first");
    }
    GgufFile gguf(path);
    tok = std::make_unique<Tokenizer>(Tokenizer::from_gguf(gguf));
  }
  return *tok;
}

std::vector<nlohmann::json> read_jsonl(const std::string& rel) {
  std::ifstream in(source_path(rel));
  REQUIRE(in.good());
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

nlohmann::json read_json(const std::string& rel) {
  std::ifstream in(source_path(rel));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

// Offsets must tile the text in order; tokens made of whole characters map to exactly their bytes.
void check_offsets(const Tokenizer& tok, const std::string& text, const Encoding& enc) {
  REQUIRE(enc.offsets.size() == enc.ids.size());
  size_t covered = 0;
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    auto [b, e] = enc.offsets[i];
    INFO("token " << i << " of " << text);
    REQUIRE(b < e);
    REQUIRE(e <= text.size());
    REQUIRE(b <= covered);  // may share a character with the previous token, never skip bytes
    if (b == covered) {
      std::string bytes = tok.token_bytes(enc.ids[i]);
      if (e - b == bytes.size()) REQUIRE(text.substr(b, e - b) == bytes);
    }
    covered = std::max(covered, e);
  }
  REQUIRE(covered == text.size());
}

}  // namespace

TEST_CASE("SmolLM2 tokenizer metadata", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  CHECK(tok.vocab_size() == 49152);
  CHECK(tok.pre_tokenizer_name() == "smollm");
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK_FALSE(tok.add_bos());
  auto eos = tok.eos_ids();
  CHECK(std::find(eos.begin(), eos.end(), 2) != eos.end());  // <|im_end|>
  CHECK(std::find(eos.begin(), eos.end(), 0) != eos.end());  // <|endoftext|>
  CHECK(tok.piece(1) == "<|im_start|>");
  CHECK(tok.piece(tok.encode(" the")[0]) == "Ġthe");
}

TEST_CASE("SmolLM2 goldens: ids, round trip and offsets", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  auto rows = read_jsonl("tests/fixtures/tokenizer/smollm2.jsonl");
  REQUIRE(rows.size() >= 200);
  for (const auto& row : rows) {
    std::string text = row["text"];
    auto want = row["ids"].get<std::vector<int32_t>>();
    INFO("text: " << text);
    REQUIRE(tok.encode(text) == want);
    Encoding enc = tok.encode_with_offsets(text);
    REQUIRE(enc.ids == want);
    // A few strings hold bytes the vocab has no token for; both references drop them.
    if (row.value("roundtrip", true)) {
      REQUIRE(tok.decode(want) == text);
      check_offsets(tok, text, enc);
    } else {
      REQUIRE(tok.decode(want) != text);
    }
  }
}

TEST_CASE("SmolLM2 special tokens and parse_special", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  std::string text = "<|im_start|>user\nhi<|im_end|>";
  auto ids = tok.encode(text);
  REQUIRE(ids.front() == 1);
  REQUIRE(ids.back() == 2);
  // Without parse_special the markers are ordinary text and still round-trip.
  auto plain = tok.encode(text, /*parse_special=*/false);
  CHECK(std::find(plain.begin(), plain.end(), 1) == plain.end());
  CHECK(std::find(plain.begin(), plain.end(), 2) == plain.end());
  CHECK(tok.decode(plain) == text);
  Encoding enc = tok.encode_with_offsets(text);
  CHECK(enc.offsets.front() == std::make_pair<size_t, size_t>(0, 12));
  CHECK(enc.offsets.back() == std::make_pair(text.size() - 10, text.size()));
}

TEST_CASE("decode: bad ids throw, partial UTF-8 passes through, invalid input round-trips", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  CHECK_THROWS_AS(tok.decode({-1}), Error);
  CHECK_THROWS_AS(tok.decode({tok.vocab_size()}), Error);
  CHECK_THROWS_AS(tok.piece(1 << 30), Error);
  // "😀" is several byte tokens; each alone decodes to a fragment, together to the character.
  std::string emoji = "\xF0\x9F\x98\x80";
  auto ids = tok.encode(emoji);
  std::string joined;
  for (int32_t id : ids) joined += tok.decode({id});
  CHECK(joined == emoji);
  // Invalid UTF-8 input never crashes and comes back byte for byte.
  for (std::string bad : {std::string("\xC3\xC3 abc"), std::string("ab\xC3"), std::string("\x80\x80 x \xED\xA0\x80"),
                          std::string("caf\xC3\xA9\xC3")}) {
    Encoding enc = tok.encode_with_offsets(bad);
    CHECK(tok.decode(enc.ids) == bad);
    check_offsets(tok, bad, enc);
  }
  // 0xFF and 0xFE have no token in SmolLM2's vocab (they never occur in UTF-8): dropped, no crash.
  Encoding enc = tok.encode_with_offsets("\xFF\xFE" "ab\xFF");
  CHECK(tok.decode(enc.ids) == "ab");
  REQUIRE(enc.offsets.size() == enc.ids.size());
  CHECK(enc.offsets.front().first == 2);
}

TEST_CASE("offsets widen to whole characters and token_span maps byte ranges", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  std::string text = "ab 😀 cd";  // the emoji is split into byte tokens
  Encoding enc = tok.encode_with_offsets(text);
  size_t emoji_begin = text.find("\xF0"), emoji_end = emoji_begin + 4;
  auto [first, last] = token_span(enc, emoji_begin, emoji_end);
  REQUIRE(first < last);
  for (size_t i = first; i < last; ++i) {
    // Every token of the emoji reports the whole emoji (a leading space may be glued on).
    CHECK(enc.offsets[i].second == emoji_end);
    CHECK(enc.offsets[i].first <= emoji_begin);
  }
  std::string joined;
  for (size_t i = first; i < last; ++i) joined += tok.token_bytes(enc.ids[i]);
  CHECK(joined.find("\xF0\x9F\x98\x80") != std::string::npos);
  // Whole range and empty range.
  CHECK(token_span(enc, 0, text.size()) == std::make_pair<size_t, size_t>(0, enc.ids.size()));
  auto empty = token_span(enc, 1, 1);
  CHECK(empty.first == empty.second);
}

TEST_CASE("SmolLM2 chat prompts match transformers apply_chat_template", "[tokenizer][chat]") {
  const Tokenizer& tok = smollm2();
  ChatTemplate tmpl = ChatTemplate::detect(tok.chat_template());
  REQUIRE(tmpl.name() == "smollm2");
  REQUIRE(tmpl.default_system_prompt() == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  auto convs = read_json("tests/fixtures/tokenizer/smollm2_chat.json");
  REQUIRE(convs.size() == 3);
  for (const auto& c : convs) {
    std::vector<ChatMessage> msgs;
    for (const auto& m : c["messages"]) msgs.push_back({m["role"], m["content"]});
    bool gen = c["add_generation_prompt"];
    ChatPrompt p = build_chat_prompt(tok, tmpl, msgs, gen);
    INFO("conversation: " << c["text"].get<std::string>());
    REQUIRE(p.text == c["text"].get<std::string>());
    REQUIRE(p.ids == c["ids"].get<std::vector<int32_t>>());
    REQUIRE(p.offsets.size() == p.ids.size());
    // user_content_byte_begin points at the last user message's content.
    const std::string* last_user = nullptr;
    for (const auto& m : msgs) if (m.role == "user") last_user = &m.content;
    REQUIRE(last_user != nullptr);
    CHECK(p.text.compare(p.user_content_byte_begin, last_user->size(), *last_user) == 0);
    // The user content's tokens start right after "\n" (ChatML puts it on its own line).
    auto span = token_span(Encoding{p.ids, p.offsets}, p.user_content_byte_begin,
                           p.user_content_byte_begin + last_user->size());
    CHECK(p.offsets[span.first].first == p.user_content_byte_begin);
    CHECK(tmpl.render(msgs, gen) == p.text);
  }
}

TEST_CASE("chat templates: detection and the other families", "[chat]") {
  CHECK(ChatTemplate::detect("{{ '<|start_header_id|>' }}").name() == "llama3");
  CHECK(ChatTemplate::detect("{{ '[INST] ' + message['content'] }}").name() == "mistral");
  ChatTemplate qwen = ChatTemplate::detect(
      "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful "
      "assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']}}");
  CHECK(qwen.name() == "qwen2");
  CHECK(qwen.default_system_prompt() == "You are a helpful assistant.");
  CHECK(ChatTemplate::detect("{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'}}")
            .default_system_prompt()
            .empty());
  CHECK_THROWS_AS(ChatTemplate::detect("{{ messages }}"), Error);
  CHECK_THROWS_AS(ChatTemplate::from_name("nope"), Error);

  std::vector<ChatMessage> msgs = {{"system", "Be brief."}, {"user", "  Hi there \n"}};
  CHECK(ChatTemplate::from_name("llama3").render(msgs, true) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n");
  auto r = ChatTemplate::from_name("llama3").render_with_positions(msgs, true);
  CHECK(r.text.compare(r.user_content_byte_begin, 8, "Hi there") == 0);
  CHECK(ChatTemplate::from_name("mistral").render({{"user", "a"}, {"assistant", "b"}, {"user", "c"}}, true) ==
        "<s>[INST] a [/INST]b</s>[INST] c [/INST]");
  CHECK(ChatTemplate::from_name("mistral").render(msgs, true) == "<s>[INST] Be brief.\n\n  Hi there \n [/INST]");
  CHECK_THROWS_AS(ChatTemplate::from_name("mistral").render({{"assistant", "x"}}, true), Error);
  CHECK(ChatTemplate::from_name("qwen2").render({{"user", "x"}}, true) ==
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nx<|im_end|>\n"
        "<|im_start|>assistant\n");
}

TEST_CASE("tokenizer.json loading (synthetic BPEs trained by HF tokenizers)", "[tokenizer]") {
  // synth_bpe: Digits + ByteLevel (SmolLM2 layout); synth_llama3: Split(Llama-3 regex) +
  // ByteLevel(use_regex=false) with ignore_merges.
  for (auto [file, pre_name] : {std::pair<const char*, const char*>{"synth_bpe", "smollm"}, {"synth_llama3", "llama-bpe"}}) {
    std::string dir = "tests/fixtures/tokenizer/";
    Tokenizer tok = Tokenizer::from_hf_json(source_path(dir + file + ".json"));
    INFO("tokenizer " << file);
    CHECK(tok.pre_tokenizer_name() == pre_name);
    CHECK(tok.vocab_size() == tok.piece_to_id("<tool>") + 1);  // the added token comes last
    auto rows = read_jsonl(dir + file + "_goldens.jsonl");
    REQUIRE(rows.size() >= 60);
    for (const auto& row : rows) {
      std::string text = row["text"];
      auto want = row["ids"].get<std::vector<int32_t>>();
      INFO("text: " << text);
      REQUIRE(tok.encode(text) == want);
      if (row.value("roundtrip", true)) REQUIRE(tok.decode(want) == text);
    }
    // "<tool>" is a non-special added token: matched even when special tokens are not parsed.
    int32_t tool = tok.piece_to_id("<tool>");
    auto ids = tok.encode("a <tool> <|im_end|>", /*parse_special=*/false);
    CHECK(std::find(ids.begin(), ids.end(), tool) != ids.end());
    CHECK(std::find(ids.begin(), ids.end(), tok.piece_to_id("<|im_end|>")) == ids.end());
  }
  CHECK_THROWS_AS(Tokenizer::from_hf_json(source_path("tests/fixtures/tokenizer/does_not_exist.json")), Error);
}

TEST_CASE("tokenizer.json with a tokenizer_config.json beside it", "[tokenizer]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("claa_tok_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(source_path("tests/fixtures/tokenizer/synth_bpe.json"), dir / "tokenizer.json",
                fs::copy_options::overwrite_existing);
  {
    std::ofstream cfg(dir / "tokenizer_config.json");
    cfg << R"({"bos_token": {"content": "<|im_start|>"}, "eos_token": "<|im_end|>", "add_bos_token": true,
              "chat_template": "{{ '<|im_start|>' + message['role'] }}"})";
  }
  Tokenizer tok = Tokenizer::from_hf_json((dir / "tokenizer.json").string());
  CHECK(tok.bos_id() == tok.piece_to_id("<|im_start|>"));
  CHECK(tok.eos_id() == tok.piece_to_id("<|im_end|>"));
  CHECK(tok.add_bos());
  CHECK(ChatTemplate::detect(tok.chat_template()).name() == "chatml");
  auto eos = tok.eos_ids();
  CHECK(std::find(eos.begin(), eos.end(), tok.piece_to_id("<|endoftext|>")) != eos.end());
  {
    std::ofstream bad(dir / "tokenizer.json");
    bad << "{ not json";
  }
  CHECK_THROWS_AS(Tokenizer::from_hf_json((dir / "tokenizer.json").string()), Error);
  claa::test::remove_tree(dir);
}

TEST_CASE("encode is thread-safe (shared word cache)", "[tokenizer]") {
  const Tokenizer& tok = smollm2();
  auto rows = read_jsonl("tests/fixtures/tokenizer/smollm2.jsonl");
  tok.clear_cache();
  std::atomic<int> mismatches{0};
  auto work = [&](size_t start) {
    for (size_t k = 0; k < rows.size(); ++k) {
      const auto& row = rows[(start + k) % rows.size()];
      if (tok.encode(row["text"].get<std::string>()) != row["ids"].get<std::vector<int32_t>>()) ++mismatches;
    }
  };
  std::thread a(work, 0), b(work, rows.size() / 2);
  a.join();
  b.join();
  CHECK(mismatches == 0);
}

TEST_CASE("Llama-3 and Qwen2 pre-tokenizer splits match HF Split(Regex)", "[tokenizer]") {
  auto j = read_json("tests/fixtures/tokenizer/pretok_splits.json");
  for (auto [key, name] : {std::pair<const char*, const char*>{"llama3", "llama-bpe"}, {"qwen2", "qwen2"}}) {
    PreTokenizer pre = PreTokenizer::from_name(name);
    REQUIRE(j[key]["pattern"].get<std::string>() == (std::string(key) == "llama3" ? kLlama3Pattern : kQwen2Pattern));
    REQUIRE(j[key]["cases"].size() >= 30);
    for (const auto& c : j[key]["cases"]) {
      std::string text = c["text"];
      INFO(name << ": " << text);
      CHECK(pre.split_strings(text) == c["pieces"].get<std::vector<std::string>>());
    }
  }
  CHECK_THROWS_AS(PreTokenizer::from_name("unknown-pre"), Error);
}

TEST_CASE("GPT-2 and SmolLM pre-tokenizer on whitespace runs and digits", "[tokenizer]") {
  PreTokenizer gpt2 = PreTokenizer::from_name("gpt2");
  using V = std::vector<std::string>;
  // \s+(?!\S) leaves the last space to join the next word.
  CHECK(gpt2.split_strings("a   b") == V{"a", "  ", " b"});
  CHECK(gpt2.split_strings("a  \n b") == V{"a", "  \n", " b"});
  CHECK(gpt2.split_strings("end   ") == V{"end", "   "});
  CHECK(gpt2.split_strings("I'm 12") == V{"I", "'m", " 12"});
  PreTokenizer smol = PreTokenizer::from_name("smollm");
  CHECK(smol.split_strings("x 123") == V{"x", " ", "1", "2", "3"});
}

// Hidden benchmark: ./claa_tests "[.bench]" -s   (CLAA_BENCH_TEXT=file to use your own text).
TEST_CASE("token display texts keep a character split across tokens whole, at the token completing it", "[tokenizer]") {
  // é = C3 A9, 😀 = F0 9F 98 80; FF starts nothing; E2 82 is cut off by the end of the prompt.
  const std::vector<std::string> bytes = {"a\xC3",
                                          "\xA9"
                                          "b",
                                          "\xF0\x9F",
                                          "\x98",
                                          "\x80",
                                          "\xFF",
                                          "\xC3"
                                          "c",
                                          "\xE2\x82"};
  const std::vector<std::string> want = {"a",
                                         "\xC3\xA9"
                                         "b",
                                         "",
                                         "",
                                         "\xF0\x9F\x98\x80",
                                         "\xEF\xBF\xBD",
                                         "\xEF\xBF\xBD"
                                         "c",
                                         "\xEF\xBF\xBD\xEF\xBF\xBD"};
  CHECK(utf8_token_texts(bytes) == want);
  CHECK(utf8_token_texts({}).empty());
  // On SmolLM2's real tokens: the texts of the golden strings' tokens join to the strings themselves.
  const Tokenizer& tok = smollm2();
  int checked = 0;
  for (const auto& row : read_jsonl("tests/fixtures/tokenizer/smollm2.jsonl")) {
    const std::string text = row["text"];
    std::vector<std::string> token_bytes;
    for (int32_t id : tok.encode(text, /*parse_special=*/false)) token_bytes.push_back(tok.token_bytes(id));
    std::string joined, all_bytes;
    for (const std::string& t : utf8_token_texts(token_bytes)) joined += t;
    for (const std::string& b : token_bytes) all_bytes += b;
    INFO("text: " << text);
    CHECK(joined == encode_utf8(decode_utf8(all_bytes)));
    if (row.value("roundtrip", true)) CHECK(joined == text);  // rows that do not round trip lose bytes in HF too
    ++checked;
  }
  CHECK(checked >= 20);
}

TEST_CASE("tokenizer throughput", "[.bench]") {
  const Tokenizer& tok = smollm2();
  std::string text;
  if (const char* f = std::getenv("CLAA_BENCH_TEXT")) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    for (const auto& e : std::filesystem::directory_iterator("/usr/share/common-licenses")) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path());
      std::stringstream ss;
      ss << in.rdbuf();
      text += ss.str();
    }
  }
  REQUIRE(!text.empty());
  std::string mb;
  while (mb.size() < (1u << 20)) mb += text;
  mb.resize(1u << 20);
  while (!mb.empty() && (static_cast<unsigned char>(mb.back()) & 0xC0) == 0x80) mb.pop_back();
  double rate = tokenizer_benchmark_mb_per_s(tok, mb);
  WARN("tokenizer: " << rate << " MB/s on " << mb.size() << " bytes (cold word cache)");
  CHECK(rate >= 1.0);
}
