#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/byte_unicode.h"
#include "tokenizer/unicode_regex.h"

namespace claa {

const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* const kDigitPattern = R"(\p{N})";

// A compiled pattern. JIT-compiled when the platform supports it (about 10x faster); matching
// falls back to the interpreter if JIT is unavailable.
struct PreTokenizer::Regex {
  UnicodeRegex compiled;
  pcre2_code* code = nullptr;
  bool jit = false;
  SplitBehavior behavior = SplitBehavior::Isolated;

  explicit Regex(const std::string& pattern, SplitBehavior b = SplitBehavior::Isolated)
      : compiled(pattern, "pre-tokenizer regex"), code(compiled.code()), behavior(b) {
    jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // A piece of the subject and whether the pattern matched it.
  struct Segment {
    size_t begin, end;
    bool match;
  };

  // Split subject (valid UTF-8) into pieces by `behavior`; appends absolute ranges offset by `base`.
  void split(std::string_view subject, size_t base, pcre2_match_data* md,
             std::vector<std::pair<size_t, size_t>>& out) const {
    thread_local std::vector<Segment> segs;  // reused: this runs once per piece of text
    segments(subject, md, segs);
    apply_behavior(segs);
    for (const Segment& g : segs)
      if (g.end > g.begin) out.emplace_back(base + g.begin, base + g.end);
  }

  // Matches and the gaps between them, in order, covering the subject. As in HF (pattern.rs,
  // Pattern for Regex), an empty match is a (zero-width) match segment too, so a pattern that
  // matches nothing but empty strings cuts the text into characters; the empty segments are
  // dropped after the behavior is applied. None of the models' patterns can match empty.
  void segments(std::string_view subject, pcre2_match_data* md, std::vector<Segment>& segs) const {
    segs.clear();
    auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    size_t pos = 0;
    size_t gap_begin = 0;
    while (pos <= subject.size()) {
      int rc = jit ? pcre2_jit_match(code, s, subject.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr)
                   : pcre2_match(code, s, subject.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        throw Error(std::string("pre-tokenizer regex failed: ") + reinterpret_cast<const char*>(msg));
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      size_t mb = ov[0], me = ov[1];
      // An empty match right where the previous match ended is not reported (onig's find_iter).
      bool skip = me == mb && !segs.empty() && segs.back().match && segs.back().end == mb;
      if (!skip) {
        if (mb > gap_begin) segs.push_back({gap_begin, mb, false});
        segs.push_back({mb, me, true});
        gap_begin = me;
      }
      // After an empty match, step over one character so we always make progress.
      pos = me > mb ? me : mb + (mb < subject.size() ? std::max<size_t>(1, utf8_valid_char_len(subject, mb)) : 1);
    }
    if (gap_begin < subject.size()) segs.push_back({gap_begin, subject.size(), false});
  }

  // HF SplitDelimiterBehavior applied to the segments (normalizer.rs NormalizedString::split).
  void apply_behavior(std::vector<Segment>& segs) const {
    std::vector<Segment> out;
    bool previous_match = false;
    switch (behavior) {
      case SplitBehavior::Isolated: return;
      case SplitBehavior::Removed:
        for (const Segment& g : segs)
          if (!g.match) out.push_back(g);
        break;
      case SplitBehavior::Contiguous:
        for (const Segment& g : segs) {
          if (g.match && previous_match) {
            out.back().end = g.end;
          } else {
            out.push_back(g);
          }
          previous_match = g.match;
        }
        break;
      case SplitBehavior::MergedWithPrevious:
        for (const Segment& g : segs) {
          if (g.match && !previous_match && !out.empty()) {
            out.back().end = g.end;
          } else {
            out.push_back({g.begin, g.end, false});
          }
          previous_match = g.match;
        }
        break;
      case SplitBehavior::MergedWithNext:
        for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
          if (it->match && !previous_match && !out.empty()) {
            out.back().begin = it->begin;
          } else {
            out.push_back({it->begin, it->end, false});
          }
          previous_match = it->match;
        }
        std::reverse(out.begin(), out.end());
        break;
    }
    segs.swap(out);
  }
};

PreTokenizer PreTokenizer::from_name(const std::string& name) {
  if (name == "gpt2") return from_patterns(name, {kGpt2Pattern});
  // StarCoder-family vocabularies (SmolLM) isolate each digit before the GPT-2 split.
  if (name == "smollm" || name == "starcoder" || name == "refact") {
    return from_patterns(name, {kDigitPattern, kGpt2Pattern});
  }
  if (name == "llama-bpe" || name == "llama3") return from_patterns("llama-bpe", {kLlama3Pattern});
  if (name == "qwen2") return from_patterns(name, {kQwen2Pattern});
  throw Error("unsupported pre-tokenizer '" + name + "' (supported: gpt2, smollm, llama-bpe, qwen2)");
}

PreTokenizer PreTokenizer::from_patterns(const std::string& name, const std::vector<std::string>& patterns) {
  std::vector<SplitStep> steps;
  for (const auto& pat : patterns) steps.push_back({pat, SplitBehavior::Isolated});
  return from_steps(name, steps);
}

PreTokenizer PreTokenizer::from_steps(const std::string& name, const std::vector<SplitStep>& steps) {
  // Compiled patterns are immutable and shared between copies and threads.
  PreTokenizer p;
  p.name_ = name;
  for (const auto& st : steps) p.regexes_.push_back(std::make_shared<const Regex>(st.pattern, st.behavior));
  return p;
}

namespace {

// Ranges of `text` that are valid UTF-8 runs, plus single invalid bytes marked `valid=false`.
struct Run {
  size_t begin, end;
  bool valid;
};

std::vector<Run> utf8_runs(std::string_view text) {
  std::vector<Run> runs;
  size_t i = 0, run_begin = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : utf8_valid_char_len(text, i);
    if (len == 0) {
      if (i > run_begin) runs.push_back({run_begin, i, true});
      runs.push_back({i, i + 1, false});
      run_begin = ++i;
    } else {
      i += len;
    }
  }
  if (text.size() > run_begin) runs.push_back({run_begin, text.size(), true});
  return runs;
}

struct MatchData {
  pcre2_match_data* md;
  MatchData() : md(pcre2_match_data_create(4, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};

}  // namespace

std::vector<std::pair<size_t, size_t>> PreTokenizer::split(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> pieces, next;
  std::vector<bool> valid;
  for (const Run& r : utf8_runs(text)) {
    pieces.emplace_back(r.begin, r.end);
    valid.push_back(r.valid);
  }
  MatchData md;
  for (const auto& re : regexes_) {
    next.clear();
    next.reserve(pieces.size() * 2);
    std::vector<bool> next_valid;
    for (size_t k = 0; k < pieces.size(); ++k) {
      auto [b, e] = pieces[k];
      if (valid[k]) {
        re->split(text.substr(b, e - b), b, md.md, next);
      } else {
        next.emplace_back(b, e);
      }
      next_valid.resize(next.size(), valid[k]);
    }
    pieces.swap(next);
    valid.swap(next_valid);
  }
  return pieces;
}

std::vector<std::string> PreTokenizer::split_strings(std::string_view text) const {
  std::vector<std::string> out;
  for (auto [b, e] : split(text)) out.emplace_back(text.substr(b, e - b));
  return out;
}

}  // namespace claa
