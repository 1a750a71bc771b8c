// Temporary folders for the tests, removed without std::filesystem::remove_all: on the GPU machine
// the pip LibTorch's libtorch.so exports its own std::filesystem::remove_all, which the dynamic
// linker binds ahead of libstdc++'s, and it jumps to address 0 on a non-empty directory (found with
// tools/segv_trace.c). POSIX nftw does the same walk with no such interposition.
#pragma once

#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace claa::test {

// rm -rf: `path` and everything under it (nothing when it does not exist); symlinks not followed.
inline void remove_tree(const std::filesystem::path& path) {
  auto remove_entry = [](const char* p, const struct stat*, int, struct FTW*) { return std::remove(p) == 0 ? 0 : -1; };
  nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

// The path of a fresh (removed) folder under the system temp folder: claa_<name>_<pid>.
inline std::filesystem::path fresh_temp_path(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() / ("claa_" + name + "_" + std::to_string(::getpid()));
  remove_tree(p);
  return p;
}

// A fresh, empty directory under the system temp folder (name + pid), removed when the test ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name) : path(fresh_temp_path("test_" + name)) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { remove_tree(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace claa::test
