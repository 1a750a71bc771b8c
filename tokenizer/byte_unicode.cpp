#include "tokenizer/byte_unicode.h"

#include "core/utf8.h"

namespace claa {

namespace {

// Byte -> code point table and its inverse, built once (GPT-2 bytes_to_unicode).
struct Gpt2Alphabet {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 512> from_cp{};  // every alphabet code point is < 0x144

  Gpt2Alphabet() {
    from_cp.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = printable(b) ? static_cast<uint32_t>(b) : next++;
      from_cp[to_cp[b]] = static_cast<int16_t>(b);
    }
  }
};

const Gpt2Alphabet& alphabet() {
  static const Gpt2Alphabet a;
  return a;
}

}  // namespace

uint32_t gpt2_byte_to_codepoint(uint8_t b) { return alphabet().to_cp[b]; }

int gpt2_codepoint_to_byte(uint32_t cp) { return cp < 512 ? alphabet().from_cp[cp] : -1; }

std::string gpt2_bytes_to_piece(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8_append(out, gpt2_byte_to_codepoint(b));
  return out;
}

std::string gpt2_piece_to_bytes(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  size_t i = 0;
  while (i < piece.size()) {
    size_t len = utf8_valid_char_len(piece, i);
    if (len == 0) {  // malformed vocab string: keep the byte as is
      out.push_back(piece[i++]);
      continue;
    }
    int b = gpt2_codepoint_to_byte(utf8_decode_at(piece, i, len));
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(piece.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace claa
