// libFuzzer target: run-config validation (configs/*.json): JSON parsing, --set overrides and
// parse_run_config, which must turn every bad config into claa::Error before a model loads.
// The input is the config; its first line, when it starts with "--set ", is one override.
//
// The validator lives in the full (gcc, LibTorch) build's library, so libFuzzer gets no coverage
// feedback from inside it: mutations of the seed configs are blind. It still catches every crash,
// sanitizer-visible heap error and exception other than claa::Error.
#include <string>
#include <vector>

#include "core/error.h"
#include "harness/runner/run_config_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("--set ", 0) == 0) {
    size_t eol = text.find('\n');
    overrides.push_back(text.substr(6, eol == std::string::npos ? std::string::npos : eol - 6));
    text = eol == std::string::npos ? "" : text.substr(eol + 1);
  }
  try {
    claa::validate_run_config_text(text, overrides, "fuzz.json");
  } catch (const claa::Error&) {
  }
  return 0;
}
