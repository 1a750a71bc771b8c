// UTF-8 ↔ Unicode code points: the one codec of claa (tokenizer, pre-tokenizer, task scorers).
// Well-formed means RFC 3629: shortest form, no surrogates, at most U+10FFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace claa {

// Append the UTF-8 encoding of cp.
void utf8_append(std::string& out, uint32_t cp);
// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is malformed
// (truncated, overlong, surrogate, beyond U+10FFFF, or a stray continuation byte).
size_t utf8_valid_char_len(std::string_view s, size_t i);
// Decode one well-formed sequence (caller checked utf8_valid_char_len > 0).
uint32_t utf8_decode_at(std::string_view s, size_t i, size_t len);
inline bool utf8_is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Code points of a string; every byte that does not start a well-formed sequence becomes U+FFFD
// (one per byte, as Python's bytes.decode("utf-8", "replace") does for most inputs).
std::u32string decode_utf8(std::string_view s);
// UTF-8 of code points.
std::string encode_utf8(const std::u32string& s);

// Per-token display text from each token's raw bytes (Tokenizer::token_bytes), every entry valid
// UTF-8: a character whose bytes are split across tokens (byte-level BPE cuts multi-byte characters)
// is shown whole at the token that completes it, the earlier tokens get what they complete alone
// (possibly ""); a byte that can start no well-formed sequence, or an incomplete one at the end,
// becomes U+FFFD. Concatenated, the texts equal encode_utf8(decode_utf8(all the bytes)).
std::vector<std::string> utf8_token_texts(const std::vector<std::string>& token_bytes);

}  // namespace claa
