#include "core/fingerprint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"

namespace claa {

uint64_t fnv1a(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string fingerprint_text(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string("fnv1a64:") + buf;
}

namespace {

uint64_t hash_file(const std::string& path, uint64_t h) {
  if (std::filesystem::file_size(path) == 0) return h;  // mmap of an empty file is not allowed
  MappedFile m(path);
  return fnv1a(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()), h);
}

}  // namespace

std::string path_fingerprint(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": cannot fingerprint, no such file or folder");
  if (!fs::is_directory(path)) return fingerprint_text(hash_file(path, kFnvOffset));
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  uint64_t h = kFnvOffset;
  for (const fs::path& f : files) {
    h = fnv1a(fs::relative(f, path).string(), h);
    h = hash_file(f.string(), h);
  }
  return fingerprint_text(h);
}

}  // namespace claa
