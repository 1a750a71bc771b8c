// safetensors writer (huggingface/safetensors README): u64 little-endian header size, the JSON
// header (padded with spaces to a multiple of 8 bytes, so every tensor is aligned), the bytes.
// claa writes F32 only: per-layer scores for anyone to read with `safetensors.numpy.load_file`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace claa {

struct SafetensorsEntry {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, numel(shape) values
};

// The file's bytes; claa::Error on a duplicate name or a shape that does not match the data.
std::string safetensors_bytes(const std::vector<SafetensorsEntry>& tensors,
                              const std::map<std::string, std::string>& metadata = {});
// Writes them atomically (a reader never sees half a file).
void write_safetensors(const std::string& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace claa
