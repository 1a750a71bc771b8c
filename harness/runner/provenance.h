// What a run was made with, written beside its results (run.json): resolved config, model file
// hash, LibTorch version, device, git commit, date.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/model/model_loader.h"

namespace claa {

// FNV-1a 64-bit hash of a file (or of every file of an HF folder, in name order), as hex.
std::string model_fingerprint(const ModelSource& source);
nlohmann::json provenance(const LoadedModel& model, const std::string& device, const std::string& dtype);
std::string git_commit();

}  // namespace claa
