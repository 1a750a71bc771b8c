// The BPE tokenizers of the supported models, loaded from GGUF metadata or an HF tokenizer.json;
// see docs/reference.md "Tokenizers". Three kinds:
//   - byte-level BPE (GPT-2 family: SmolLM2, Llama-3, Qwen2/3), GGUF "gpt2" or tokenizer.json
//     with a ByteLevel pre-tokenizer;
//   - SentencePiece-style BPE in tokenizer.json (Llama 2, Mistral, Phi-3, Gemma): characters with
//     "▁" for spaces, byte fallback, Prepend/Replace normalizers or a Metaspace pre-tokenizer;
//   - SentencePiece from GGUF "llama" (llama.cpp's merge by piece score).
// Follows HF tokenizers (models/bpe, normalizers, pre_tokenizers, decoders) and llama.cpp
// (src/llama-vocab.cpp). Torch-free.
//
// encode: split out special tokens -> normalise each span between them (keeping the alignment to
// the input) -> pre-tokenise -> BPE each piece -> ids.
// decode: byte-level: ids -> bytes (reverse GPT-2 byte map; special tokens as their literal text);
// SentencePiece kinds: the token strings through the decoder chain.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace claa {

class GgufFile;

struct Encoding {
  std::vector<int32_t> ids;
  // Byte range [start, end) of each token in the input text. Special tokens included. A token
  // holding only part of a multi-byte character gets the whole character's range.
  std::vector<std::pair<size_t, size_t>> offsets;
};

class Tokenizer {
 public:
  static Tokenizer from_gguf(const GgufFile& gguf);
  // HF tokenizer.json: model BPE with merges; pre_tokenizer ByteLevel, or Sequence of
  // Digits / Split(isolated) / ByteLevel; added_tokens. A tokenizer_config.json next to it, when
  // present, supplies bos/eos tokens, add_bos_token and chat_template.
  static Tokenizer from_hf_json(const std::string& tokenizer_json_path);

  // Token ids of `text`; no BOS is added (see add_bos()). With parse_special, the text of a
  // control/added token (e.g. "<|im_start|>") becomes that token; without it only user-defined
  // added tokens are matched and control tokens are tokenised as plain text (llama.cpp's rule).
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;
  Encoding encode_with_offsets(std::string_view text, bool parse_special = true) const;
  // Exact bytes of the tokens (not necessarily valid UTF-8 when a character is cut). For the
  // SentencePiece kinds this is HF's decode (e.g. Llama 2 strips the first leading space).
  // Throws claa::Error for ids outside [0, vocab_size).
  std::string decode(const std::vector<int32_t>& ids) const;
  // Bytes one token contributes in the middle of a text ("▁the" -> " the", "<0x0A>" -> "\n").
  std::string token_bytes(int32_t id) const;
  // The vocab string of a token (GPT-2 alphabet, e.g. "Ġthe").
  std::string piece(int32_t id) const;
  // Id of a vocab string, or -1.
  int32_t piece_to_id(const std::string& piece) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 when unknown
  int32_t eos_id() const;  // -1 when unknown
  // Every id that ends generation: eos plus end-of-turn tokens the vocab has
  // (<|eot_id|>, <|im_end|>, <|endoftext|>, <|end_of_text|>, <|eom_id|>, </s>, <end_of_turn>).
  std::vector<int32_t> eos_ids() const;
  bool add_bos() const;
  // Byte-level BPE: "smollm", "gpt2", "llama-bpe", "qwen2" or "custom"; SentencePiece-style BPE
  // from tokenizer.json: "sentencepiece-bpe"; GGUF "llama": "sentencepiece".
  std::string pre_tokenizer_name() const;
  // One line: the kind, its normalizer, Metaspace, byte fallback and decoder where present.
  std::string describe() const;
  // The chat template text shipped with the model (GGUF tokenizer.chat_template or
  // tokenizer_config.json chat_template); empty if none.
  std::string chat_template() const;
  // Drop the word cache (benchmarks; memory).
  void clear_cache() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;  // shared: copies share the (thread-safe) word cache
};

// Map a byte range of the encoded text to the token index range [first, last) of the tokens that
// overlap it. An empty byte range maps to an empty token range at the first token ending after it.
std::pair<size_t, size_t> token_span(const Encoding& enc, size_t byte_begin, size_t byte_end);

// Encode `text` three times on this thread, each with an empty word cache, and return MB/s.
double tokenizer_benchmark_mb_per_s(const Tokenizer& tok, const std::string& text);

}  // namespace claa
