// Sample -> the exact prompt ids a model sees: task template (context + question), optional middle
// truncation (LongBench pred.py), the model's chat template (unless the sample opts out), the answer
// prefix after the generation prompt (RULER), tokenization, and the evidence byte ranges mapped to
// token ranges of the final prompt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "datasets/sample.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

using TokenSpan = std::pair<size_t, size_t>;  // [first, last) token indices

struct PromptBuild {
  std::string text;  // the final prompt text (BOS not included when added as an id)
  std::vector<int32_t> ids;
  // One per Sample::evidence entry; an evidence range cut away by truncation maps to {0, 0}.
  std::vector<TokenSpan> evidence_token_spans;
  TokenSpan context_token_span{0, 0};
  bool truncated = false;
};

struct PromptOptions {
  // > 0: when the rendered task text is longer than this many tokens, keep the first and the last
  // max_prompt_tokens/2 tokens (LongBench pred.py, before the chat template).
  int64_t max_prompt_tokens = 0;
  // Multi-turn samples (Sample::follow_ups): the prompt of this turn (0 = the first). Turn t appends,
  // for each earlier turn, its gold reply as the assistant's message and the next question as a user
  // message (scbench.h); the first user message, and so the context's tokens, are the same every turn.
  // Truncation applies to the first user message only.
  size_t turn = 0;
};

// The task text and where the context starts in it.
struct RenderedTask {
  std::string text;
  size_t context_begin = 0;
};
RenderedTask render_task(const Sample& s);

// The chat template a tokenizer's model ships, or none (then every sample is rendered raw).
std::optional<ChatTemplate> chat_template_for(const Tokenizer& tok);

PromptBuild build_prompt(const Tokenizer& tok, const std::optional<ChatTemplate>& chat, const Sample& s,
                         const PromptOptions& options = {});

// Prompt tokens + max_new_tokens: what must fit into a length budget.
int64_t prompt_budget_tokens(const Tokenizer& tok, const std::optional<ChatTemplate>& chat, const Sample& s);

}  // namespace claa
