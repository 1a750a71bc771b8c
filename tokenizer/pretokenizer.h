// Regex pre-tokenisation: a sequence of PCRE2 patterns, each applied to every piece the previous
// one produced, in HF `Split` fashion (by default behavior "isolated": matches and the gaps
// between them both become pieces). This is how both HF tokenizers (Sequence of Digits / Split /
// ByteLevel) and llama.cpp (regex_exprs in llama-vocab.cpp) describe pre-tokenisers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace claa {

// Well-known patterns (HF tokenizer.json / llama.cpp llama-vocab.cpp).
extern const char* const kGpt2Pattern;
extern const char* const kLlama3Pattern;
extern const char* const kQwen2Pattern;
extern const char* const kDigitPattern;  // HF Digits(individual_digits=true)

// What HF's Split does with a match (tokenizers src/tokenizer/normalizer.rs, SplitDelimiterBehavior):
// Isolated: its own piece; Removed: dropped; MergedWithPrevious / MergedWithNext: glued to the
// piece before / after it (unless that one is a match too); Contiguous: consecutive matches form
// one piece. Empty matches never split.
enum class SplitBehavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

struct SplitStep {
  std::string pattern;  // PCRE2 syntax
  SplitBehavior behavior = SplitBehavior::Isolated;
};

class PreTokenizer {
 public:
  // "gpt2", "smollm" (digits isolated, then GPT-2), "llama-bpe" (Llama-3), "qwen2".
  // Unknown names throw claa::Error listing the supported ones.
  static PreTokenizer from_name(const std::string& name);
  // Apply `patterns` in order (each PCRE2 syntax, compiled with UTF and UCP).
  static PreTokenizer from_patterns(const std::string& name, const std::vector<std::string>& patterns);
  static PreTokenizer from_steps(const std::string& name, const std::vector<SplitStep>& steps);

  const std::string& name() const { return name_; }

  // Byte ranges [begin, end) of the pieces of `text`, in order, covering all of it (but what a
  // Removed step drops).
  // Bytes that are not valid UTF-8 become one-byte pieces of their own (byte-level BPE can still
  // encode them, and a regex engine cannot look at them).
  std::vector<std::pair<size_t, size_t>> split(std::string_view text) const;
  // Convenience for tests: the piece strings.
  std::vector<std::string> split_strings(std::string_view text) const;

 private:
  struct Regex;
  std::string name_;
  std::vector<std::shared_ptr<const Regex>> regexes_;
};

}  // namespace claa
