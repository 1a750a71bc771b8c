// The decoder of an HF tokenizer.json: token strings back to text (HF tokenizers
// src/decoders/*.rs, applied as a chain over the list of token strings). Supported: Sequence,
// ByteLevel, Replace (String pattern), ByteFallback, Fuse, Strip, Metaspace. Torch-free.
//
// One deliberate difference: ByteFallback hands back the raw bytes of <0xXX> tokens, where HF
// writes U+FFFD for each byte of a sequence that is not valid UTF-8. For valid text both agree;
// for a cut character claa keeps the bytes (decode's promise: the exact bytes of the tokens).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace claa {

class Decoder {
 public:
  // From the tokenizer.json "decoder" value; null joins the token strings as they are.
  // Unsupported types and malformed fields throw a one-line claa::Error.
  static Decoder from_json(const nlohmann::json& j);
  // GPT-2 alphabet back to bytes (byte-level BPE).
  static Decoder byte_level();
  // llama.cpp's SentencePiece decoding: "▁" to space, <0xXX> to bytes, and, with
  // strip_leading_space (add_space_prefix), the first token's leading space dropped.
  static Decoder sentencepiece(bool strip_leading_space);

  // The text of a sequence of token strings.
  std::string decode(std::vector<std::string> tokens) const;
  // What one token contributes in the middle of a sequence (steps that act on a single token
  // only: Replace, ByteFallback, ByteLevel, Metaspace as a non-first token).
  std::string token_text(const std::string& token) const;
  // The step types in order, e.g. "Replace+ByteFallback+Fuse+Strip".
  std::string describe() const;

  struct Step;

 private:
  std::vector<std::shared_ptr<const Step>> steps_;
};

// The byte a SentencePiece byte token stands for ("<0x0A>" -> 10), or -1 if `piece` is not one.
int byte_token_value(const std::string& piece);
// The SentencePiece byte token of b ("<0x0A>": upper-case hex, as HF and llama.cpp write it).
std::string byte_token_piece(unsigned char b);

}  // namespace claa
