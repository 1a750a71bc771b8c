// Shared helpers for the datasets tests: the SmolLM2 tokenizer (a missing model is a failure) and
// fixture paths, temporary files.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "core/cache_paths.h"
#include "datasets/prompt_build.h"
#include "formats/gguf.h"
#include "tests/catch.h"
#include "tokenizer/tokenizer.h"

namespace claa::test {

inline std::string smollm2_path() { return default_model_path(); }

inline const Tokenizer& smollm2_tokenizer() {
  static std::unique_ptr<Tokenizer> tok;
  if (!tok) {
    std::string path = smollm2_path();
    if (!std::filesystem::exists(path)) FAIL("model file " << path << " not found: run scripts/setup.sh first");
    GgufFile gguf(path);
    tok = std::make_unique<Tokenizer>(Tokenizer::from_gguf(gguf));
  }
  return *tok;
}

inline const std::optional<ChatTemplate>& smollm2_chat() {
  static std::optional<ChatTemplate> chat = chat_template_for(smollm2_tokenizer());
  return chat;
}

inline std::string fixture(const std::string& rel) { return source_path("tests/fixtures/datasets/" + rel); }

// Writes `text` to TMPDIR/name and returns the path (malformed-input tests).
inline std::string write_temp(const std::string& name, const std::string& text) {
  std::string p = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

}  // namespace claa::test
