// What a run was made with, written beside its results (run.json): model file hash, LibTorch
// version, device, dtype, the git commit and dirty flag the binary was built from (recorded at
// build time, cmake/build_info.cmake), date. The runner adds the config and the dataset hashes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/model_loader.h"

namespace claa {

// FNV-1a 64-bit hash of a file (or of every file of an HF folder, in name order), as hex.
std::string model_fingerprint(const ModelSource& source);
nlohmann::json provenance(const LoadedModel& model, const std::string& device, const std::string& dtype);

}  // namespace claa
