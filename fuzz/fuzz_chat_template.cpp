// libFuzzer target: chat-template detection from a model's Jinja text, then rendering a
// conversation with the detected family (ChatML reads its default system prompt from the text).
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/chat_template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    claa::ChatTemplate t = claa::ChatTemplate::detect(text);
    std::vector<claa::ChatMessage> msgs = {{"user", "  What is 2+2?  "}, {"assistant", "4"}, {"user", "and 3+3?"}};
    claa::RenderedChat r = t.render_with_positions(msgs, true);
    if (r.user_content_byte_begin != std::string::npos && r.user_content_byte_begin > r.text.size()) __builtin_trap();
  } catch (const claa::Error&) {
  }
  return 0;
}
