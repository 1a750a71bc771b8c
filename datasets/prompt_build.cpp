#include "datasets/prompt_build.h"

#include "core/error.h"

namespace claa {

RenderedTask render_task(const Sample& s) {
  static const std::string kContext = "{context}", kQuestion = "{question}";
  RenderedTask out;
  const std::string& t = s.prompt_template;
  bool have_context = false;
  size_t pos = 0;
  while (pos < t.size()) {
    size_t c = t.find(kContext, pos), q = t.find(kQuestion, pos);
    size_t next = std::min(c, q);
    if (next == std::string::npos) break;
    out.text.append(t, pos, next - pos);
    if (next == c) {
      require(!have_context, "sample " + s.id + ": prompt_template has {context} twice");
      have_context = true;
      out.context_begin = out.text.size();
      out.text += s.context;
      pos = c + kContext.size();
    } else {
      out.text += s.question;
      pos = q + kQuestion.size();
    }
  }
  out.text.append(t, pos, std::string::npos);
  require(have_context || s.context.empty(), "sample " + s.id + ": prompt_template has no {context}");
  return out;
}

std::optional<ChatTemplate> chat_template_for(const Tokenizer& tok) {
  const std::string jinja = tok.chat_template();
  if (jinja.empty()) return std::nullopt;
  return ChatTemplate::detect(jinja);
}

namespace {

// Byte mapping of LongBench's middle truncation: text = head (kept) + dropped middle + tail (kept).
struct Truncation {
  size_t head = 0, tail_begin = 0, shift = 0;  // tail bytes move left by `shift`
  bool active = false;
  // New position of the original range [b, e), or nullopt when any of it was cut.
  std::optional<std::pair<size_t, size_t>> map(size_t b, size_t e) const {
    if (!active || e <= head) return std::make_pair(b, e);
    if (b >= tail_begin) return std::make_pair(b - shift, e - shift);
    return std::nullopt;
  }
};

// LongBench pred.py: tokens > max_length -> decode(first half) + decode(last half). Byte-level BPE
// decodes to the exact original bytes, so the kept parts are byte ranges of the original text.
Truncation truncate_middle(const Tokenizer& tok, std::string& text, int64_t max_tokens) {
  Truncation tr;
  if (max_tokens <= 0) return tr;
  std::vector<int32_t> ids = tok.encode(text, /*parse_special=*/false);
  if (static_cast<int64_t>(ids.size()) <= max_tokens) return tr;
  const size_t half = static_cast<size_t>(max_tokens / 2);
  std::string head = tok.decode({ids.begin(), ids.begin() + half});
  std::string tail = tok.decode({ids.end() - half, ids.end()});
  tr.active = true;
  tr.head = head.size();
  tr.tail_begin = text.size() - tail.size();
  tr.shift = tr.tail_begin - tr.head;
  text = head + tail;
  return tr;
}

// Where `user_text` begins inside the rendered chat (llama3 trims the content first).
size_t locate_user_text(const RenderedChat& r, const std::string& user_text) {
  require(r.user_content_byte_begin != std::string::npos, "chat template rendered no user message");
  size_t ub = r.user_content_byte_begin;
  if (r.text.compare(ub, user_text.size(), user_text) == 0) return ub;
  size_t lead = user_text.find_first_not_of(" \t\n\r\v\f");
  if (lead != std::string::npos && ub >= lead) return ub - lead;  // the template trimmed `lead` bytes
  return ub;
}

// The conversation of turn `turn`: the first user message, then (gold reply, next question) pairs.
std::vector<ChatMessage> turn_messages(const Sample& s, const std::string& first, size_t turn) {
  std::vector<ChatMessage> msgs = {{"user", first}};
  for (size_t i = 0; i < turn; ++i) {
    msgs.push_back({"assistant", s.follow_ups[i].previous_reply});
    msgs.push_back({"user", s.follow_ups[i].question});
  }
  return msgs;
}

// Raw text of the later turns (scbench/eval_utils.py multiturn_follow_up_templates: "{pre_ans}\n\n..."
// appended right after the previous prompt).
std::string raw_follow_ups(const Sample& s, size_t turn) {
  std::string text;
  for (size_t i = 0; i < turn; ++i) text += s.follow_ups[i].previous_reply + "\n\n" + s.follow_ups[i].question;
  return text;
}

}  // namespace

PromptBuild build_prompt(const Tokenizer& tok, const std::optional<ChatTemplate>& chat, const Sample& s,
                         const PromptOptions& options) {
  RenderedTask task = render_task(s);
  PromptBuild pb;
  Truncation tr = truncate_middle(tok, task.text, options.max_prompt_tokens);
  pb.truncated = tr.active;

  require(options.turn <= s.follow_ups.size(), "sample " + s.id + " has no turn " + std::to_string(options.turn + 1));
  size_t base = 0;
  const bool use_chat = s.chat && chat.has_value();
  if (use_chat) {
    // The first user message starts at the same byte whatever follows it (every family renders
    // messages in order), so its position comes from the one-message rendering.
    RenderedChat first = chat->render_with_positions({{"user", task.text}}, /*add_generation_prompt=*/true);
    base = locate_user_text(first, task.text);
    pb.text = options.turn == 0 ? std::move(first.text) : chat->render(turn_messages(s, task.text, options.turn), true);
  } else {
    pb.text = task.text + raw_follow_ups(s, options.turn);
  }
  pb.text += s.answer_prefix;

  // Chat text carries control tokens; raw data must not turn "<|im_end|>" in a document into one.
  Encoding enc = tok.encode_with_offsets(pb.text, /*parse_special=*/use_chat);
  size_t id_shift = 0;
  if (!use_chat && tok.add_bos() && tok.bos_id() >= 0) {
    pb.ids.push_back(tok.bos_id());
    id_shift = 1;
  }
  pb.ids.insert(pb.ids.end(), enc.ids.begin(), enc.ids.end());

  auto to_tokens = [&](size_t b, size_t e) -> TokenSpan {
    auto [first, last] = token_span(enc, base + b, base + e);
    return {first + id_shift, last + id_shift};
  };
  const size_t cb = task.context_begin;
  for (const EvidenceSpan& ev : s.evidence) {
    auto m = tr.map(cb + ev.begin, cb + ev.end);
    pb.evidence_token_spans.push_back(m ? to_tokens(m->first, m->second) : TokenSpan{0, 0});
  }
  auto ctx_begin = tr.map(cb, cb).value_or(std::make_pair(tr.head, tr.head)).first;
  size_t ce = cb + s.context.size();
  size_t ctx_end = !tr.active ? ce : (ce <= tr.head ? ce : (ce >= tr.tail_begin ? ce - tr.shift : tr.head));
  pb.context_token_span = to_tokens(ctx_begin, ctx_end);
  return pb;
}

int64_t prompt_budget_tokens(const Tokenizer& tok, const std::optional<ChatTemplate>& chat, const Sample& s) {
  return static_cast<int64_t>(build_prompt(tok, chat, s).ids.size()) + s.max_new_tokens;
}

}  // namespace claa
