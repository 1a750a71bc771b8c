// The tokenizer that belongs to a loaded model and the ids that end its generation: shared by the
// runner and the CLI commands that take a prompt.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace claa {

class Tokenizer;
struct LoadedModel;

// The model's own tokenizer (GGUF metadata or the HF folder's tokenizer.json); null for random-weight
// models. claa::Error when an HF folder has no tokenizer.json.
std::shared_ptr<const Tokenizer> model_tokenizer(const LoadedModel& model);
// Generation stops at the config's EOS ids plus the tokenizer's end-of-turn ids.
std::vector<int64_t> stop_ids(const LoadedModel& model, const Tokenizer* tokenizer);

}  // namespace claa
