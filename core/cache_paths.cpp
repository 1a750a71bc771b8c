#include "core/cache_paths.h"

#include <cstdlib>

namespace claa {

namespace {

std::string environment(const char* name) {
  const char* value = name ? std::getenv(name) : nullptr;
  return value && *value ? value : "";
}

}  // namespace

std::string cache_dir(const std::string& kind, const char* override_variable) {
  if (std::string dir = environment(override_variable); !dir.empty()) return dir;
  if (std::string xdg = environment("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/claa/" + kind;
  std::string home = environment("HOME");
  return (home.empty() ? std::string(".") : home) + "/.cache/claa/" + kind;
}

std::string model_cache_dir() { return cache_dir("models", "CLAA_MODEL_DIR"); }
std::string haystack_cache_dir() { return cache_dir("haystack", "CLAA_HAYSTACK_DIR"); }
std::string default_model_path() { return model_cache_dir() + "/" + kDefaultModelFile; }

}  // namespace claa
