// SentencePiece-style pieces of the tokenizer: the Metaspace pre-tokenizer of HF tokenizer.json
// files (spaces written as U+2581 "▁") and llama.cpp's SentencePiece BPE for GGUF tokenizers of
// type "llama", which merges by piece score instead of by merge rank. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/normalizer.h"

namespace claa {

inline constexpr const char* kSentencePieceSpace = "\xE2\x96\x81";  // U+2581, "▁"

// HF pre_tokenizers/metaspace.rs: every space becomes `replacement`, one is prepended
// (prepend_scheme "always": to every piece of text between special tokens; "first": only to the
// piece at the start of the input; "never"), then, with `split`, the text is cut before each
// replacement character (MergedWithNext). HF only prepends when the text does not already start
// with the replacement; llama.cpp's add_space_prefix prepends unconditionally (`if_missing` false).
struct Metaspace {
  enum class Prepend { Always, First, Never };
  std::string replacement = kSentencePieceSpace;
  Prepend prepend = Prepend::Always;
  bool split = true;
  bool if_missing = true;

  // Rewrite `t` (a piece of the input between special tokens; `at_input_start` when it begins
  // the input).
  void rewrite(NormalizedText& t, bool at_input_start) const;
  // Byte ranges of the pieces of rewritten text (the whole text without `split`).
  std::vector<std::pair<size_t, size_t>> pieces(std::string_view text) const;
};

// One token of a SentencePiece segmentation: its id and the bytes [begin, begin + len) of the
// text it covers.
struct SpmToken {
  int32_t id;
  size_t begin, len;
};

// llama.cpp src/llama-vocab.cpp llm_tokenizer_spm_session::tokenize: start from single
// characters, repeatedly merge the adjacent pair whose concatenation is a vocab piece with the
// highest score (leftmost on ties); a character that no merge absorbed and that is no piece
// becomes byte tokens.
//   piece_id(s): id of vocab string s or -1; score(id): its score; byte_id(b): the token of byte
//   b or -1 (then the byte is dropped, where llama.cpp would abort).
void spm_tokenize(std::string_view text, const std::function<int32_t(const std::string&)>& piece_id,
                  const std::function<float(int32_t)>& score, const std::function<int32_t(unsigned char)>& byte_id,
                  std::vector<SpmToken>& out);

}  // namespace claa
