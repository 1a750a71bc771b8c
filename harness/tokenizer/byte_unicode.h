// UTF-8 helpers and the GPT-2 byte <-> unicode alphabet used by byte-level BPE vocabularies.
// GPT-2 (openai/gpt-2 encoder.py bytes_to_unicode) maps every byte to a printable code point so
// vocab entries are readable strings: printable bytes map to themselves, the other 68 bytes map to
// U+0100 + n in byte order (space -> 'Ġ' U+0120, newline -> 'Ċ' U+010A).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace claa {

// Code point of byte b in the GPT-2 alphabet.
uint32_t gpt2_byte_to_codepoint(uint8_t b);
// Inverse of gpt2_byte_to_codepoint; returns -1 for code points outside the alphabet.
int gpt2_codepoint_to_byte(uint32_t cp);
// The GPT-2 alphabet spelling of raw bytes (what vocab strings look like).
std::string gpt2_bytes_to_piece(std::string_view bytes);
// Raw bytes of a vocab string. Characters outside the alphabet are kept as their UTF-8 (some
// vocabularies carry such entries; keeping them is what llama.cpp and HF do for display).
std::string gpt2_piece_to_bytes(std::string_view piece);

// Append the UTF-8 encoding of cp.
void utf8_append(std::string& out, uint32_t cp);
// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is malformed
// (truncated, overlong, surrogate, beyond U+10FFFF, or a stray continuation byte).
size_t utf8_valid_char_len(std::string_view s, size_t i);
// Decode one well-formed sequence (caller checked utf8_valid_char_len > 0).
uint32_t utf8_decode_at(std::string_view s, size_t i, size_t len);
inline bool utf8_is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace claa
