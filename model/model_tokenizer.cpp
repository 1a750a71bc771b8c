// The tokenizer and stop ids that belong to a loaded model (model_tokenizer.h).
#include "model/model_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "model/model_loader.h"
#include "tokenizer/tokenizer.h"

namespace claa {

std::shared_ptr<const Tokenizer> model_tokenizer(const LoadedModel& model) {
  if (model.gguf) return std::make_shared<const Tokenizer>(Tokenizer::from_gguf(*model.gguf));
  if (model.source.kind == "hf") {
    std::string path = (std::filesystem::path(model.source.path) / "tokenizer.json").string();
    require(std::filesystem::exists(path), model.source.path + ": HF model folder has no tokenizer.json");
    return std::make_shared<const Tokenizer>(Tokenizer::from_hf_json(path));
  }
  return nullptr;
}

std::vector<int64_t> stop_ids(const LoadedModel& model, const Tokenizer* tokenizer) {
  std::vector<int64_t> ids = model.config.eos_ids;
  if (tokenizer != nullptr) {
    for (int32_t id : tokenizer->eos_ids())
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

}  // namespace claa
