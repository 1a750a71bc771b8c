#include "model/model_loader.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "formats/safetensors.h"

namespace claa {

namespace fs = std::filesystem;

ModelSource resolve_model(const std::string& argument) {
  require(!argument.empty(), "no model given (use --model PATH.gguf, an HF folder, or smollm2-135m)");
  if (argument == kDefaultModelAlias) {
    std::string path = default_model_path();
    require(fs::exists(path), "default model not found at " + path + " (run scripts/setup.sh to fetch it)");
    return {"gguf", path};
  }
  require(fs::exists(argument), argument + ": no such file or folder");
  if (fs::is_directory(argument)) {
    require(fs::exists(fs::path(argument) / "config.json"), argument + ": HF model folder has no config.json");
    return {"hf", argument};
  }
  return {"gguf", argument};
}

LoadedModel describe_model(const std::string& argument) {
  LoadedModel m;
  m.source = resolve_model(argument);
  if (m.source.kind == "gguf") {
    m.gguf = std::make_unique<GgufFile>(m.source.path);
    m.config = ModelConfig::from_gguf(*m.gguf);
    std::set<std::string> types;
    for (const GgufTensorInfo& t : m.gguf->tensors()) types.insert(ggml_type_name(t.type));
    m.tensor_types.assign(types.begin(), types.end());
  } else {
    m.config = ModelConfig::from_hf_file((fs::path(m.source.path) / "config.json").string());
    m.tensor_types = SafetensorsCheckpoint(m.source.path).dtypes();
  }
  return m;
}

LoadedModel load_model(const std::string& argument, const RuntimeOptions& options) {
  LoadedModel m = describe_model(argument);
  ModelWeights weights =
      m.source.kind == "gguf" ? load_gguf_weights(*m.gguf, m.config) : load_hf_weights(m.source.path, m.config);
  m.model = std::make_unique<Transformer>(m.config, std::move(weights), options);
  return m;
}

LoadedModel load_random_model(const std::string& config_path, uint64_t seed, const RuntimeOptions& options) {
  LoadedModel m;
  m.source = {"random", config_path};
  m.config = ModelConfig::from_hf_file(config_path);
  m.tensor_types = {"random " + dtype_name(options.dtype)};
  // Made where each layer will run (a 70B shape fits only split over several GPUs).
  const at::Device head = options.devices.empty() ? options.device : options.devices.back();
  m.model = std::make_unique<Transformer>(
      m.config, random_weights(m.config, seed, layer_devices(m.config, options), head, options.dtype), options);
  return m;
}

}  // namespace claa
