// `claa tokenize` and `claa detokenize`: the model's own tokenizer on the command line.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/cli/commands.h"
#include "harness/cli/prompt_input.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

struct TokenizeArgs {
  std::string model = kDefaultModelAlias;
  std::string text;
  bool chat = false, as_json = false, pieces = false;
};

std::shared_ptr<const Tokenizer> tokenizer_for(const std::string& model, LoadedModel& described) {
  described = describe_model(model);
  auto tok = model_tokenizer(described);
  require(tok != nullptr, model + ": no tokenizer available");
  return tok;
}

void run_tokenize(const TokenizeArgs& a) {
  LoadedModel m;
  auto tok = tokenizer_for(a.model, m);
  std::string text = a.text;
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), {});
  std::vector<int32_t> ids;
  if (a.chat) {
    ChatTemplate tmpl = ChatTemplate::detect(tok->chat_template());
    ids = build_chat_prompt(*tok, tmpl, {{"user", text}}, true).ids;
  } else {
    ids = tok->encode(text);
  }
  if (a.as_json) {
    nlohmann::json j = {{"ids", ids}};
    if (a.pieces) {
      std::vector<std::string> p;
      for (int32_t id : ids) p.push_back(tok->piece(id));
      j["pieces"] = p;
    }
    fmt::print("{}\n", j.dump());
    return;
  }
  if (a.pieces) {
    for (int32_t id : ids) fmt::print("{:>6}  {}\n", id, nlohmann::json(tok->piece(id)).dump());
    return;
  }
  std::string out;
  for (int32_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  fmt::print("{}\n", out);
}

}  // namespace

void register_tokenize_commands(CLI::App& app) {
  auto* tok = app.add_subcommand("tokenize", "text → token ids with the model's tokenizer");
  auto a = std::make_shared<TokenizeArgs>();
  tok->add_option("--model,-m", a->model, "a .gguf file, an HF model folder, or smollm2-135m")->capture_default_str();
  tok->add_option("text", a->text, "text to tokenize ('-' reads standard input)")->required();
  tok->add_flag("--chat", a->chat, "wrap the text as a user message in the model's chat template");
  tok->add_flag("--json", a->as_json, "print JSON");
  tok->add_flag("--pieces", a->pieces, "show each token's vocabulary piece");
  tok->callback([a] { run_tokenize(*a); });

  auto* detok = app.add_subcommand("detokenize", "token ids → text");
  auto model = std::make_shared<std::string>(kDefaultModelAlias);
  auto ids = std::make_shared<std::string>();
  detok->add_option("--model,-m", *model, "a .gguf file, an HF model folder, or smollm2-135m")->capture_default_str();
  detok->add_option("ids", *ids, "comma-separated token ids")->required();
  detok->callback([model, ids] {
    LoadedModel m;
    auto tok = tokenizer_for(*model, m);
    std::vector<int64_t> parsed = parse_id_list(*ids);
    for (int64_t id : parsed) require(id >= 0 && id < tok->vocab_size(), "token id " + std::to_string(id) + " out of range");
    fmt::print("{}\n", tok->decode(std::vector<int32_t>(parsed.begin(), parsed.end())));
  });
}

}  // namespace claa
