// Chat prompt formatting. Instead of a Jinja interpreter we implement the handful of template
// families the project uses, byte-for-byte as their Jinja templates render them, and pick one by
// looking for marker strings in the model's template text:
//   chatml   "<|im_start|>role\ncontent<|im_end|>\n"  (SmolLM2: default system prompt "You are a
//            helpful AI assistant named SmolLM, trained by Hugging Face"; Qwen2: "You are a helpful
//            assistant."; both inserted when the first message is not a system message)
//   llama3   "<|begin_of_text|>" + "<|start_header_id|>role<|end_header_id|>\n\n" + trim(content) + "<|eot_id|>"
//   mistral  "<s>[INST] user [/INST]assistant</s>" (a system message is prepended to the first
//            user message, separated by "\n\n")
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace claa {

struct ChatMessage {
  std::string role, content;
};

struct ChatPrompt {
  std::string text;
  std::vector<int32_t> ids;
  // Where the last user message's content starts inside `text` (std::string::npos if none).
  size_t user_content_byte_begin = std::string::npos;
  std::vector<std::pair<size_t, size_t>> offsets;  // byte range of each id in `text`
};

// The rendered text plus where the last user message's content begins.
struct RenderedChat {
  std::string text;
  size_t user_content_byte_begin = std::string::npos;
};

class ChatTemplate {
 public:
  // "smollm2", "qwen2", "chatml" (no default system prompt), "llama3", "mistral".
  static ChatTemplate from_name(const std::string& name);
  // Pick the family from a Jinja template's text; throws claa::Error if unrecognised.
  // For ChatML templates the default system prompt is read from the template itself.
  static ChatTemplate detect(const std::string& jinja_template_text);
  static std::vector<std::string> names();

  std::string name() const { return name_; }
  const std::string& default_system_prompt() const { return default_system_; }

  std::string render(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;
  RenderedChat render_with_positions(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

 private:
  enum class Family { ChatML, Llama3, Mistral };
  Family family_ = Family::ChatML;
  std::string name_;
  std::string default_system_;  // ChatML only; empty = none

  void render_chatml(const std::vector<ChatMessage>& msgs, bool gen, RenderedChat& out) const;
  void render_llama3(const std::vector<ChatMessage>& msgs, bool gen, RenderedChat& out) const;
  void render_mistral(const std::vector<ChatMessage>& msgs, bool gen, RenderedChat& out) const;
};

// Render, then tokenize the text with special tokens parsed (the template writes BOS itself where
// the family needs one, so no BOS is added here).
ChatPrompt build_chat_prompt(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<ChatMessage>& msgs,
                             bool add_generation_prompt = true);

}  // namespace claa
