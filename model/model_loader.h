// Resolves a user's model argument — a .gguf path, an HF folder (config.json + safetensors +
// tokenizer.json), or the alias of the cached default — and builds the Transformer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/cache_paths.h"
#include "formats/gguf.h"
#include "model/transformer.h"

namespace claa {

// The default model fetched by scripts/setup.sh (never downloaded at run time).
inline constexpr const char* kDefaultModelAlias = "smollm2-135m";

struct ModelSource {
  std::string kind;  // "gguf" | "hf" | "random"
  std::string path;  // file or folder ("" for random)
};
ModelSource resolve_model(const std::string& argument);

struct LoadedModel {
  ModelSource source;
  ModelConfig config;
  std::vector<std::string> tensor_types;  // distinct storage types, for `claa info`
  std::unique_ptr<GgufFile> gguf;         // kept open for tokenizer metadata (GGUF models)
  std::unique_ptr<Transformer> model;     // null when only the description was loaded
};

// Reads the config (and keeps the GGUF open) without materialising weights.
LoadedModel describe_model(const std::string& argument);
LoadedModel load_model(const std::string& argument, const RuntimeOptions& options);
// A model of the shape in an HF-style config.json with seeded random weights.
LoadedModel load_random_model(const std::string& config_path, uint64_t seed, const RuntimeOptions& options);

}  // namespace claa
