// Run-config validation from a config's text, behind a torch-free header: the libFuzzer target
// (fuzz/fuzz_run_config.cpp) is built by clang, which cannot compile LibTorch 1.13's headers in
// C++20, so it reaches parse_run_config through this one declaration.
#pragma once

#include <string>
#include <vector>

namespace claa {

// JSON text → --set overrides → parse_run_config. Throws claa::Error for malformed JSON or an
// invalid config, exactly as `claa run` would report it.
void validate_run_config_text(const std::string& text, const std::vector<std::string>& overrides,
                              const std::string& source);

}  // namespace claa
