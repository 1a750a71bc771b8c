// How a command receives its prompt: text (optionally wrapped in the model's chat template) or
// raw token ids, turned into ids with the model's own tokenizer.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "model/model_tokenizer.h"

namespace claa {

class Tokenizer;

struct PreparedPrompt {
  std::vector<int64_t> ids;
  std::vector<int64_t> eos_ids;
  std::shared_ptr<const Tokenizer> tokenizer;  // null for --prompt-ids without a tokenizer
  std::string decode(const std::vector<int64_t>& ids) const;
};

struct PromptInput {
  std::string text;
  std::string ids;  // "1,2,3"
  bool chat = false;
  std::string system;

  void add_to(CLI::App& command);
  PreparedPrompt prepare(const LoadedModel& model) const;
};

std::vector<int64_t> parse_id_list(const std::string& text);

}  // namespace claa
