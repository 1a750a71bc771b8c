// Shared by the libFuzzer targets: the readers under test take file paths (they memory-map), so
// each input is written to a per-process scratch file first. Every target accepts claa::Error —
// the one-line "error: ..." a user sees — as a correct answer to bad input; anything else escaping
// (another exception type, a crash, a sanitizer report) is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace claa::fuzz {

// A private folder for this fuzzing process (several targets run in parallel in CI).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("claa_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), size);
  return path;
}

}  // namespace claa::fuzz
