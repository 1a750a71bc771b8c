#include "tokenizer/chat_template.h"

#include "core/error.h"

namespace claa {

namespace {

const char* const kSmolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
const char* const kQwen2System = "You are a helpful assistant.";

// Jinja's `| trim` (Python str.strip() on the ASCII whitespace that matters here).
std::string_view trim(std::string_view s) {
  const char* ws = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

// A ChatML template's built-in system prompt: the literal text between "<|im_start|>system\n"
// (newline written raw or as the Jinja escape "\n") and "<|im_end|>" inside one string literal.
// Occurrences followed by an expression (quote, '+', '{') are the user-supplied system message.
std::string chatml_default_system(const std::string& t) {
  const std::string marker = "<|im_start|>system";
  for (size_t at = t.find(marker); at != std::string::npos; at = t.find(marker, at + 1)) {
    size_t p = at + marker.size();
    if (t.compare(p, 1, "\n") == 0)
      p += 1;
    else if (t.compare(p, 2, "\\n") == 0)
      p += 2;
    else
      continue;
    size_t end = t.find("<|im_end|>", p);
    if (end == std::string::npos) continue;
    std::string body = t.substr(p, end - p);
    if (!body.empty() && body.find_first_of("'\"+{}") == std::string::npos) return body;
  }
  return "";
}

}  // namespace

std::vector<std::string> ChatTemplate::names() { return {"smollm2", "qwen2", "chatml", "llama3", "mistral"}; }

ChatTemplate ChatTemplate::from_name(const std::string& name) {
  ChatTemplate t;
  t.name_ = name;
  if (name == "smollm2") {
    t.default_system_ = kSmolLM2System;
  } else if (name == "qwen2") {
    t.default_system_ = kQwen2System;
  } else if (name == "chatml") {
  } else if (name == "llama3") {
    t.family_ = Family::Llama3;
  } else if (name == "mistral") {
    t.family_ = Family::Mistral;
  } else {
    throw Error("unknown chat template '" + name + "' (known: smollm2, qwen2, chatml, llama3, mistral)");
  }
  return t;
}

ChatTemplate ChatTemplate::detect(const std::string& text) {
  if (text.find("<|start_header_id|>") != std::string::npos) return from_name("llama3");
  if (text.find("[INST]") != std::string::npos) return from_name("mistral");
  if (text.find("<|im_start|>") != std::string::npos) {
    ChatTemplate t = from_name("chatml");
    t.default_system_ = chatml_default_system(text);
    if (t.default_system_.find("SmolLM") != std::string::npos)
      t.name_ = "smollm2";
    else if (t.default_system_.find("Qwen") != std::string::npos || t.default_system_ == kQwen2System)
      t.name_ = "qwen2";
    return t;
  }
  require(!text.empty(),
          "the model has no chat template; choose one by name (smollm2, qwen2, chatml, llama3, mistral)");
  throw Error("unrecognised chat template; choose one by name (smollm2, qwen2, chatml, llama3, mistral)");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
  return render_with_positions(msgs, add_generation_prompt).text;
}

RenderedChat ChatTemplate::render_with_positions(const std::vector<ChatMessage>& msgs, bool gen) const {
  RenderedChat out;
  switch (family_) {
    case Family::ChatML: render_chatml(msgs, gen, out); break;
    case Family::Llama3: render_llama3(msgs, gen, out); break;
    case Family::Mistral: render_mistral(msgs, gen, out); break;
  }
  return out;
}

void ChatTemplate::render_chatml(const std::vector<ChatMessage>& msgs, bool gen, RenderedChat& out) const {
  if (!msgs.empty() && msgs[0].role != "system" && !default_system_.empty()) {
    out.text += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
  }
  for (const auto& m : msgs) {
    out.text += "<|im_start|>" + m.role + "\n";
    if (m.role == "user") out.user_content_byte_begin = out.text.size();
    out.text += m.content + "<|im_end|>\n";
  }
  if (gen) out.text += "<|im_start|>assistant\n";
}

void ChatTemplate::render_llama3(const std::vector<ChatMessage>& msgs, bool gen, RenderedChat& out) const {
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i == 0) out.text += "<|begin_of_text|>";
    out.text += "<|start_header_id|>" + msgs[i].role + "<|end_header_id|>\n\n";
    if (msgs[i].role == "user") out.user_content_byte_begin = out.text.size();
    out.text += std::string(trim(msgs[i].content)) + "<|eot_id|>";
  }
  if (gen) out.text += "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

void ChatTemplate::render_mistral(const std::vector<ChatMessage>& msgs, bool /*gen*/, RenderedChat& out) const {
  // Mistral-Instruct's template has no generation prompt: "[/INST]" already hands over the turn.
  out.text += "<s>";
  std::string pending_system;
  size_t turn = 0;
  for (const auto& m : msgs) {
    if (m.role == "system") {
      require(turn == 0 && pending_system.empty(), "mistral chat template: a system message must come first");
      pending_system = m.content;
      continue;
    }
    bool expect_user = turn % 2 == 0;
    require((m.role == "user") == expect_user && (m.role == "user" || m.role == "assistant"),
            "mistral chat template: roles must alternate user/assistant/user/...");
    if (m.role == "user") {
      out.text += "[INST] ";
      if (!pending_system.empty()) {
        out.text += pending_system + "\n\n";
        pending_system.clear();
      }
      out.user_content_byte_begin = out.text.size();
      out.text += m.content + " [/INST]";
    } else {
      out.text += m.content + "</s>";
    }
    ++turn;
  }
}

ChatPrompt build_chat_prompt(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<ChatMessage>& msgs,
                             bool add_generation_prompt) {
  RenderedChat r = tmpl.render_with_positions(msgs, add_generation_prompt);
  ChatPrompt p;
  Encoding enc = tok.encode_with_offsets(r.text, /*parse_special=*/true);
  p.text = std::move(r.text);
  p.user_content_byte_begin = r.user_content_byte_begin;
  p.ids = std::move(enc.ids);
  p.offsets = std::move(enc.offsets);
  return p;
}

}  // namespace claa
