// KVzip's view of a prompt (heuristics/kvzip.cpp): where the context it reconstructs lies and the
// token sequences it writes into the model. Declared here for its test.
#pragma once

#include <cstdint>
#include <vector>

#include "heuristics/heuristic.h"

namespace claa {

struct ReconstructionFrame {
  int64_t context_begin = 0;  // the chat prefix's length (system prompt, user header); 0 without one
  int64_t context_end = 0;    // the prompt's length without its chat suffix (end of user turn, assistant header)
  std::vector<int64_t> first_request, later_request, suffix;
};

ReconstructionFrame reconstruction_frame(const PromptFormat& format, const std::vector<int64_t>& prompt);

}  // namespace claa
