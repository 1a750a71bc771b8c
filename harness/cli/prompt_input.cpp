#include "harness/cli/prompt_input.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

std::vector<int64_t> parse_id_list(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used > 0 && item.find_first_not_of(" \t", used) == std::string::npos,
            "bad token id '" + item + "' in --prompt-ids (expected comma-separated integers)");
    ids.push_back(v);
  }
  return ids;
}

std::string PreparedPrompt::decode(const std::vector<int64_t>& out) const {
  if (!tokenizer) {
    std::string s;
    for (int64_t id : out) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
  }
  return tokenizer->decode(std::vector<int32_t>(out.begin(), out.end()));
}

void PromptInput::add_to(CLI::App& command) {
  auto* text_opt = command.add_option("--prompt,-p", text, "prompt text ('-' reads standard input)");
  auto* ids_opt = command.add_option("--prompt-ids", ids, "comma-separated token ids");
  text_opt->excludes(ids_opt);
  command.add_flag("--chat", chat, "wrap the prompt in the model's chat template");
  command.add_option("--system", system, "system message for --chat");
}

PreparedPrompt PromptInput::prepare(const LoadedModel& model) const {
  PreparedPrompt p;
  p.tokenizer = model_tokenizer(model);
  p.eos_ids = stop_ids(model, p.tokenizer.get());
  if (!ids.empty()) {
    require(!chat, "--chat needs a text --prompt, not --prompt-ids");
    p.ids = parse_id_list(ids);
    return p;
  }
  require(!text.empty(), "give a prompt with --prompt TEXT or --prompt-ids 1,2,3");
  require(p.tokenizer != nullptr, "this model has no tokenizer; use --prompt-ids");
  std::string body = text;
  if (text == "-") body.assign(std::istreambuf_iterator<char>(std::cin), {});
  std::vector<int32_t> encoded;
  if (chat) {
    // The model's own template (GGUF metadata or the HF folder's tokenizer_config.json); ChatML otherwise.
    std::string jinja = p.tokenizer->chat_template();
    ChatTemplate tmpl = jinja.empty() ? ChatTemplate::from_name("chatml") : ChatTemplate::detect(jinja);
    std::vector<ChatMessage> messages;
    if (!system.empty()) messages.push_back({"system", system});
    messages.push_back({"user", body});
    encoded = build_chat_prompt(*p.tokenizer, tmpl, messages, true).ids;
  } else {
    if (p.tokenizer->add_bos()) encoded.push_back(p.tokenizer->bos_id());
    std::vector<int32_t> body_ids = p.tokenizer->encode(body);
    encoded.insert(encoded.end(), body_ids.begin(), body_ids.end());
  }
  require(!encoded.empty(), "the prompt is empty after tokenisation");
  p.ids.assign(encoded.begin(), encoded.end());
  return p;
}

}  // namespace claa
