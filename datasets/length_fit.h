// Fitting generated samples to a token budget: for each sample, the largest haystack size n with
// prompt tokens (chat template and answer prefix included) + max_new_tokens <= length (RULER
// scripts/data/synthetic/*.py search the same quantity, with the model's own tokenizer).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "datasets/sample.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

// Sample `index` built with haystack size n; must be deterministic in (index, n) and grow with n.
using SampleMaker = std::function<Sample(size_t index, int64_t n)>;

struct FitRequest {
  std::string task;
  int64_t length = 4096;
  size_t count = 1;
  int64_t min_n = 1;
  int64_t max_n = std::numeric_limits<int64_t>::max();
  int64_t first_guess = 16;
};

// claa::Error when even min_n does not fit. Each sample records metadata.haystack_size = n.
std::vector<Sample> fit_samples(const FitRequest& req, const SampleMaker& make, const Tokenizer& tok,
                                const std::optional<ChatTemplate>& chat);

}  // namespace claa
