#include "tokenizer/normalizer.h"

#include <pcre2.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#ifdef CLAA_HAVE_UTF8PROC
#include <utf8proc.h>
#endif

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/unicode_regex.h"

namespace claa {

// ---------------------------------------------------------------------------------------------
// NormalizedText

namespace {

// Length of the character at s[i]: its UTF-8 length, or 1 for a byte that starts no valid one.
size_t char_len(std::string_view s, size_t i) { return std::max<size_t>(1, utf8_valid_char_len(s, i)); }

// Append `bytes` to `out`, every byte aligned to `range`.
void append_aligned(NormalizedText& out, std::string_view bytes, std::pair<size_t, size_t> range) {
  out.text.append(bytes);
  out.source.insert(out.source.end(), bytes.size(), range);
}

// Append in.text[b, e) with its own alignment.
void append_copy(NormalizedText& out, const NormalizedText& in, size_t b, size_t e) {
  out.text.append(in.text, b, e - b);
  out.source.insert(out.source.end(), in.source.begin() + static_cast<std::ptrdiff_t>(b),
                    in.source.begin() + static_cast<std::ptrdiff_t>(e));
}

}  // namespace

NormalizedText NormalizedText::identity(std::string_view text) {
  NormalizedText t;
  t.text = std::string(text);
  t.source.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = char_len(text, i);
    t.source.insert(t.source.end(), len, {i, i + len});
    i += len;
  }
  return t;
}

std::pair<size_t, size_t> NormalizedText::source_range(size_t begin, size_t end) const {
  // Rewrites keep sources in order, so the first and last bytes bound the range.
  return {source[begin].first, std::max(source[end - 1].second, source[begin].first)};
}

void replace_all(NormalizedText& t, std::string_view from, std::string_view to) {
  if (from.empty() || t.text.find(from) == std::string::npos) return;
  NormalizedText out;
  size_t pos = 0;
  for (size_t hit = t.text.find(from); hit != std::string::npos; hit = t.text.find(from, pos)) {
    append_copy(out, t, pos, hit);
    append_aligned(out, to, t.source_range(hit, hit + from.size()));
    pos = hit + from.size();
  }
  append_copy(out, t, pos, t.text.size());
  t = std::move(out);
}

void prepend(NormalizedText& t, std::string_view prefix) {
  if (t.text.empty() || prefix.empty()) return;
  // HF NormalizedString::prepend: the new characters belong to the first character.
  auto first = t.source.front();
  t.text.insert(0, prefix);
  t.source.insert(t.source.begin(), prefix.size(), first);
}

// ---------------------------------------------------------------------------------------------
// Unicode normalisation forms (HF normalizers/unicode.rs, via the unicode-normalization crate;
// here via libutf8proc).

namespace {

enum class Form { NFC, NFD, NFKC, NFKD };

[[maybe_unused]] const char* form_name(Form f) {
  switch (f) {
    case Form::NFC: return "NFC";
    case Form::NFD: return "NFD";
    case Form::NFKC: return "NFKC";
    default: return "NFKD";
  }
}

#ifdef CLAA_HAVE_UTF8PROC
// The normal form of valid UTF-8 `s`, or nullopt if utf8proc refuses it (invalid UTF-8).
std::optional<std::string> normal_form(std::string_view s, Form f) {
  int options = UTF8PROC_STABLE;
  options |= (f == Form::NFC || f == Form::NFKC) ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
  if (f == Form::NFKC || f == Form::NFKD) options |= UTF8PROC_COMPAT;
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()), &out,
                   static_cast<utf8proc_option_t>(options));
  if (n < 0) return std::nullopt;
  std::string r(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

bool is_starter(uint32_t cp) { return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class == 0; }
#endif

// Normalise `in` chunk by chunk so each chunk keeps its own alignment. A chunk ends before a
// character that cannot interact with it: an ASCII character, or a starter (combining class 0)
// whose normal form next to the chunk's last three characters is just the two normal forms side
// by side. Characters that compose, reorder or decompose together stay in one chunk, and every
// output byte of a chunk that changed maps to the chunk's whole input range (HF aligns each
// output character to one input character instead; token offsets can therefore be wider here,
// never narrower). Bytes that are not valid UTF-8 pass through unchanged.
NormalizedText unicode_normalize(const NormalizedText& in, Form form) {
#ifndef CLAA_HAVE_UTF8PROC
  (void)in;
  throw Error(std::string("tokenizer: the ") + form_name(form) +
              " normalizer needs libutf8proc, and this claa was built without it (install libutf8proc-dev and "
              "rebuild)");
#else
  const std::string& s = in.text;
  if (auto whole = normal_form(s, form); whole && *whole == s) return in;  // nearly all text
  NormalizedText out;
  size_t chunk_begin = 0;
  std::vector<size_t> char_starts;  // of the current chunk, to find its last three characters
  auto flush = [&](size_t end) {
    if (end == chunk_begin) return;
    std::string_view chunk(s.data() + chunk_begin, end - chunk_begin);
    auto norm = normal_form(chunk, form);
    if (!norm || *norm == chunk) {
      append_copy(out, in, chunk_begin, end);
    } else {
      append_aligned(out, *norm, in.source_range(chunk_begin, end));
    }
    chunk_begin = end;
    char_starts.clear();
  };
  auto independent = [&](size_t i, size_t len) {
    size_t tail = char_starts.size() > 3 ? char_starts[char_starts.size() - 3] : chunk_begin;
    std::string_view left(s.data() + tail, i - tail), right(s.data() + i, len);
    auto a = normal_form(left, form), b = normal_form(right, form);
    auto ab = normal_form(std::string(left) + std::string(right), form);
    return a && b && ab && *ab == *a + *b;
  };
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_valid_char_len(s, i);
    if (len == 0) {  // an invalid byte: a chunk of its own, copied
      flush(i);
      flush(i + 1);
      i += 1;
      continue;
    }
    uint32_t cp = utf8_decode_at(s, i, len);
    bool boundary = cp < 0x80 || (is_starter(cp) && independent(i, len));
    if (boundary) flush(i);
    char_starts.push_back(i);
    i += len;
  }
  flush(s.size());
  return out;
#endif
}

// ---------------------------------------------------------------------------------------------
// The other steps

// HF normalizers/strip.rs: drop leading and/or trailing whitespace.
NormalizedText strip(const NormalizedText& in, bool left, bool right) {
  const std::string& s = in.text;
  size_t b = 0, e = s.size();
  auto ws_at = [&](size_t i, size_t len) { return len > 0 && is_unicode_whitespace(utf8_decode_at(s, i, len)); };
  while (left && b < e && ws_at(b, utf8_valid_char_len(s, b))) b += utf8_valid_char_len(s, b);
  while (right && e > b) {
    size_t start = e - 1;
    while (start > b && utf8_is_continuation(static_cast<unsigned char>(s[start]))) --start;
    size_t len = utf8_valid_char_len(s, start);
    if (start + len != e || !ws_at(start, len)) break;
    e = start;
  }
  NormalizedText out;
  append_copy(out, in, b, e);
  return out;
}

// HF normalizers/utils.rs Lowercase: Rust's char::to_lowercase, character by character.
NormalizedText lowercase(const NormalizedText& in) {
#ifndef CLAA_HAVE_UTF8PROC
  (void)in;
  throw Error(
      "tokenizer: the Lowercase normalizer needs libutf8proc, and this claa was built without it "
      "(install libutf8proc-dev and rebuild)");
#else
  const std::string& s = in.text;
  NormalizedText out;
  for (size_t i = 0; i < s.size();) {
    size_t len = utf8_valid_char_len(s, i);
    if (len == 0) {
      append_copy(out, in, i, i + 1);
      ++i;
      continue;
    }
    uint32_t cp = utf8_decode_at(s, i, len);
    std::string lower;
    if (cp == 0x130) {
      lower = "i\xCC\x87";  // the one character whose full lowercase is two (U+0069 U+0307)
    } else {
      utf8_append(lower, static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    if (lower == s.substr(i, len)) {
      append_copy(out, in, i, i + len);
    } else {
      append_aligned(out, lower, in.source_range(i, i + len));
    }
    i += len;
  }
  return out;
#endif
}

// HF normalizers/replace.rs with a Regex pattern: every non-empty match becomes `content`.
// Text that is not valid UTF-8 is left alone (PCRE2 in UTF mode cannot look at it).
NormalizedText replace_regex(const NormalizedText& in, const UnicodeRegex& re, const std::string& content) {
  const std::string& s = in.text;
  NormalizedText out;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re.code(), nullptr);
  size_t pos = 0, copied = 0;
  while (pos <= s.size()) {
    // Invalid UTF-8 makes pcre2_match fail at once: the text is then copied unchanged.
    int rc = pcre2_match(re.code(), reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0, md, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[1] == ov[0]) {  // empty match: nothing to replace, step over one character
      if (ov[0] >= s.size()) break;
      pos = ov[0] + char_len(s, ov[0]);
      continue;
    }
    append_copy(out, in, copied, ov[0]);
    append_aligned(out, content, in.source_range(ov[0], ov[1]));
    pos = copied = ov[1];
  }
  pcre2_match_data_free(md);
  append_copy(out, in, copied, s.size());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Normalizer

struct Normalizer::Step {
  enum class Kind { Unicode, Prepend, ReplaceString, ReplaceRegex, Strip, Lowercase } kind;
  std::string name;  // the JSON type
  Form form = Form::NFC;
  std::string pattern, content;
  std::shared_ptr<const UnicodeRegex> regex;
  bool left = false, right = false;

  NormalizedText apply(NormalizedText t) const {
    switch (kind) {
      case Kind::Unicode: return unicode_normalize(t, form);
      case Kind::Prepend: prepend(t, content); return t;
      case Kind::ReplaceString: replace_all(t, pattern, content); return t;
      case Kind::ReplaceRegex: return replace_regex(t, *regex, content);
      case Kind::Strip: return strip(t, left, right);
      default: return lowercase(t);
    }
  }
};

namespace {

std::string string_field(const nlohmann::json& j, const char* key, const std::string& type) {
  require(j.contains(key) && j.at(key).is_string(),
          "tokenizer.json: normalizer " + type + " needs a string field '" + key + "'");
  return j.at(key).get<std::string>();
}

void collect_steps(const nlohmann::json& j, std::vector<std::shared_ptr<const Normalizer::Step>>& steps, int depth) {
  using Step = Normalizer::Step;
  if (j.is_null()) return;
  require(j.is_object() && j.contains("type") && j.at("type").is_string(),
          "tokenizer.json: a normalizer must be an object with a string 'type'");
  require(depth < 32, "tokenizer.json: normalizers nested too deeply");
  const std::string type = j.at("type").get<std::string>();
  auto step = std::make_shared<Step>();
  step->name = type;
  if (type == "Sequence") {
    require(j.contains("normalizers") && j.at("normalizers").is_array(),
            "tokenizer.json: normalizer Sequence needs an array 'normalizers'");
    for (const auto& n : j.at("normalizers")) collect_steps(n, steps, depth + 1);
    return;
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step->kind = Step::Kind::Unicode;
    step->form = type == "NFC" ? Form::NFC : type == "NFD" ? Form::NFD : type == "NFKC" ? Form::NFKC : Form::NFKD;
    require(unicode_normalization_available(), "tokenizer.json: the " + type +
                                                   " normalizer needs libutf8proc, and this claa was built "
                                                   "without it (install libutf8proc-dev and rebuild)");
  } else if (type == "Prepend") {
    step->kind = Step::Kind::Prepend;
    step->content = string_field(j, "prepend", type);
  } else if (type == "Replace") {
    step->content = string_field(j, "content", type);
    require(j.contains("pattern") && j.at("pattern").is_object(),
            "tokenizer.json: normalizer Replace needs a 'pattern'");
    const auto& pat = j.at("pattern");
    if (pat.contains("String") && pat.at("String").is_string()) {
      step->kind = Step::Kind::ReplaceString;
      step->pattern = pat.at("String").get<std::string>();
      require(!step->pattern.empty(), "tokenizer.json: normalizer Replace has an empty pattern");
    } else if (pat.contains("Regex") && pat.at("Regex").is_string()) {
      step->kind = Step::Kind::ReplaceRegex;
      step->pattern = pat.at("Regex").get<std::string>();
      step->regex = std::make_shared<const UnicodeRegex>(step->pattern, "tokenizer.json: Replace normalizer regex");
    } else {
      throw Error("tokenizer.json: normalizer Replace needs pattern {\"String\": ...} or {\"Regex\": ...}");
    }
  } else if (type == "Strip") {
    step->kind = Step::Kind::Strip;
    step->left = j.value("strip_left", false);
    step->right = j.value("strip_right", false);
  } else if (type == "Lowercase") {
    step->kind = Step::Kind::Lowercase;
    require(unicode_normalization_available(),
            "tokenizer.json: the Lowercase normalizer needs libutf8proc, and "
            "this claa was built without it (install libutf8proc-dev and rebuild)");
  } else {
    throw Error("tokenizer.json: unsupported normalizer '" + type +
                "' (supported: Sequence, NFC, NFD, NFKC, NFKD, Prepend, Replace, Strip, Lowercase)");
  }
  steps.push_back(std::move(step));
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  try {
    collect_steps(j, n.steps_, 0);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("tokenizer.json: malformed normalizer: ") + e.what());
  }
  return n;
}

std::string Normalizer::describe() const {
  if (steps_.empty()) return "none";
  std::string out;
  for (const auto& s : steps_) out += (out.empty() ? "" : "+") + s->name;
  return out;
}

NormalizedText Normalizer::apply(std::string_view text) const {
  NormalizedText t = NormalizedText::identity(text);
  for (const auto& s : steps_) t = s->apply(std::move(t));
  return t;
}

bool is_unicode_whitespace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool unicode_normalization_available() {
#ifdef CLAA_HAVE_UTF8PROC
  return true;
#else
  return false;
#endif
}

}  // namespace claa
