// The GPT-2 byte <-> unicode alphabet used by byte-level BPE vocabularies.
// GPT-2 (openai/gpt-2 encoder.py bytes_to_unicode) maps every byte to a printable code point so
// vocab entries are readable strings: printable bytes map to themselves, the other 68 bytes map to
// U+0100 + n in byte order (space -> 'Ġ' U+0120, newline -> 'Ċ' U+010A).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.h"  // byte-level BPE code works on UTF-8 throughout

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

}  // namespace claa
