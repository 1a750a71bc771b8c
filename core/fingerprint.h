// Content hashes for provenance (run.json): FNV-1a 64-bit over a file's bytes, or over every file
// of a folder in path order. Not cryptographic — it tells "same data" from "changed data", which is
// all a run folder needs to refuse mixing results. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace claa {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
uint64_t fnv1a(std::string_view bytes, uint64_t h = kFnvOffset);
// "fnv1a64:" + 16 hex digits.
std::string fingerprint_text(uint64_t h);
// A file, or a folder's regular files (recursively, sorted by path; names are hashed too so a
// rename counts as a change). Throws claa::Error when the path cannot be read.
std::string path_fingerprint(const std::string& path);

}  // namespace claa
