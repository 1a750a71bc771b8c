// libFuzzer target: run-config validation (configs/*.json): JSON parsing, --set overrides and
// parse_run_config, which must turn every bad config into claa::Error before a model loads.
// The input is the config; its first line, when it starts with "--set ", is one override.
#include <string>
#include <vector>

#include "harness/runner/run_config.h"
#include "harness/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("--set ", 0) == 0) {
    size_t eol = text.find('\n');
    overrides.push_back(text.substr(6, eol == std::string::npos ? std::string::npos : eol - 6));
    text = eol == std::string::npos ? "" : text.substr(eol + 1);
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);  // load_run_config's own parse, minus the file
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    claa::apply_overrides(j, overrides);
    (void)claa::parse_run_config(j, "fuzz.json");
  } catch (const claa::Error&) {
  }
  return 0;
}
