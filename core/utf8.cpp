// The UTF-8 codec declared in utf8.h.
#include "core/utf8.h"

namespace claa {

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_valid_char_len(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  unsigned char c = p[i];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t min_cp;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    min_cp = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    min_cp = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    min_cp = 0x10000;
  } else
    return 0;
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if (!utf8_is_continuation(p[i + k])) return 0;
  }
  uint32_t cp = utf8_decode_at(s, i, len);
  if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

uint32_t utf8_decode_at(std::string_view s, size_t i, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  switch (len) {
    case 1: return p[0];
    case 2: return ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    case 3: return ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    default: return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
  }
}

std::u32string decode_utf8(std::string_view s) {
  constexpr char32_t kReplacement = 0xFFFD;
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_valid_char_len(s, i);
    out.push_back(len > 0 ? utf8_decode_at(s, i, len) : kReplacement);
    i += len > 0 ? len : 1;
  }
  return out;
}

std::string encode_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

namespace {

// Whether s[i..] is the start of a well-formed sequence whose remaining bytes have not arrived yet:
// a lead byte followed only by continuation bytes, fewer than the lead byte announces.
bool utf8_incomplete_tail(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (need == 0 || s.size() - i >= need) return false;
  for (size_t k = i + 1; k < s.size(); ++k)
    if (!utf8_is_continuation(static_cast<unsigned char>(s[k]))) return false;
  return true;
}

constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

}  // namespace

std::vector<std::string> utf8_token_texts(const std::vector<std::string>& token_bytes) {
  std::vector<std::string> out;
  out.reserve(token_bytes.size());
  std::string pending;  // bytes of a character still waiting for its continuation bytes
  for (size_t t = 0; t < token_bytes.size(); ++t) {
    const std::string bytes = pending + token_bytes[t];
    const bool last = t + 1 == token_bytes.size();
    std::string text;
    size_t i = 0;
    while (i < bytes.size()) {
      const size_t len = utf8_valid_char_len(bytes, i);
      if (len > 0) {
        text.append(bytes, i, len);
        i += len;
      } else if (!last && utf8_incomplete_tail(bytes, i)) {
        break;  // the next token completes it
      } else {
        text += kReplacementUtf8;
        ++i;
      }
    }
    pending = bytes.substr(i);
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace claa
