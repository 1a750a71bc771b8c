// Needle in a haystack (gkamradt/LLMTest_NeedleInAHaystack): the San Francisco needle inserted into an
// essay haystack at a grid of context lengths x depths, at the sentence boundary before the depth point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/sample.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

inline constexpr const char* kNiahNeedle =
    "The best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.";
inline constexpr const char* kNiahQuestion = "What is the best thing to do in San Francisco?";

struct NiahGridOptions {
  std::vector<int64_t> lengths = {4096};
  std::vector<double> depths = {0, 25, 50, 75, 100};  // percent
  std::string haystack_dir;                          // "" = default_haystack_dir()
  int max_new_tokens = 64;
};

// depths 0..100 evenly spread over k points (k = 1 gives 50).
std::vector<double> even_depths(size_t k);

// One sample per (length, depth), scored by ROUGE-L against the needle's answer part.
std::vector<Sample> generate_niah_grid(const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                                       const NiahGridOptions& options);

}  // namespace claa
