// The normalizer of an HF tokenizer.json: text rewrites applied before pre-tokenisation
// (HF tokenizers src/normalizers/*.rs). Supported: Sequence (nested, empty allowed), NFC, NFD,
// NFKC, NFKD (with libutf8proc), Prepend, Replace (String or Regex pattern), Strip, Lowercase.
//
// Every rewrite keeps an alignment: for each byte of the normalised text, the byte range of the
// input it came from (HF's NormalizedString does the same), so token offsets stay byte ranges of
// the text the caller passed in. Torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace claa {

// Normalised text plus, for every one of its bytes, the input byte range [first, second) it
// stands for. Bytes of one output character share the range of the input character(s) it came
// from; a rewrite that changes a run of characters maps each output byte to the whole run.
struct NormalizedText {
  std::string text;
  std::vector<std::pair<size_t, size_t>> source;

  // The identity: each byte maps to its whole character (invalid bytes to themselves).
  static NormalizedText identity(std::string_view text);
  // Input range of the normalised bytes [begin, end) (begin < end <= text.size()).
  std::pair<size_t, size_t> source_range(size_t begin, size_t end) const;
};

// Rewrites shared with the Metaspace pre-tokenizer (HF NormalizedString::replace / prepend).
// Every occurrence of `from` (non-empty) becomes `to`, aligned to the replaced bytes' range.
void replace_all(NormalizedText& t, std::string_view from, std::string_view to);
// `prefix` before the text, aligned to its first character (nothing happens to an empty text).
void prepend(NormalizedText& t, std::string_view prefix);

class Normalizer {
 public:
  // From the tokenizer.json "normalizer" value (null means none). Unsupported types and
  // malformed fields throw a one-line claa::Error naming them.
  static Normalizer from_json(const nlohmann::json& j);

  bool is_identity() const { return steps_.empty(); }
  // The step types in order, e.g. "Prepend+Replace" ("none" when empty).
  std::string describe() const;
  NormalizedText apply(std::string_view text) const;

  struct Step;

 private:
  std::vector<std::shared_ptr<const Step>> steps_;
};

// Rust's char::is_whitespace (the Unicode White_Space property), which HF's Strip and added
// tokens' lstrip / rstrip use.
bool is_unicode_whitespace(uint32_t cp);

// Whether this build can apply NFC/NFD/NFKC/NFKD (it was built with libutf8proc).
bool unicode_normalization_available();

}  // namespace claa
