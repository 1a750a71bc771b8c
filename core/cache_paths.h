// Where claa keeps what scripts/setup.sh fetches: one rule for every kind of cached file, used by
// the model loader, the dataset generators (and their input list, dataset_spec.h) and the tests alike.
//
//   models:   $CLAA_MODEL_DIR,    else $XDG_CACHE_HOME/claa/models,   else $HOME/.cache/claa/models
//   haystack: $CLAA_HAYSTACK_DIR, else $XDG_CACHE_HOME/claa/haystack, else $HOME/.cache/claa/haystack
//
// scripts/setup.sh and scripts/fetch_haystack.sh apply the same rule in shell.
#pragma once

#include <string>

namespace claa {

// The cache folder of one kind ("models", "haystack"): $override_variable if set, else the XDG/HOME rule.
std::string cache_dir(const std::string& kind, const char* override_variable);

std::string model_cache_dir();     // cache_dir("models", "CLAA_MODEL_DIR")
std::string haystack_cache_dir();  // cache_dir("haystack", "CLAA_HAYSTACK_DIR")

// The default model's file name and its full path in the model cache.
inline constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";
std::string default_model_path();

}  // namespace claa
