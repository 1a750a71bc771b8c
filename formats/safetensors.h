// safetensors reader (huggingface/safetensors README): u64 header size, JSON header, byte buffer.
// Memory-mapped; offsets, sizes and overlaps are validated before any tensor is touched.
// Sharded checkpoints (model.safetensors.index.json) are opened through SafetensorsCheckpoint.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace claa {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;  // "F32" | "F16" | "BF16" (others are listed but cannot be loaded)
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // relative to the byte buffer
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return file_->path(); }
  const std::map<std::string, SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(const std::string& name) const;
  std::string_view bytes(const SafetensorsTensor& t) const;

 private:
  std::unique_ptr<MappedFile> file_;
  uint64_t buffer_offset_ = 0;
  std::map<std::string, SafetensorsTensor> tensors_;
};

// One or more safetensors files of an HF model folder, addressed by tensor name.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::string& folder);
  // Returns the file holding `name`, or nullptr.
  const SafetensorsFile* file_for(const std::string& name) const;
  std::vector<std::string> dtypes() const;  // distinct dtypes, for `claa info`

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> owner_;
};

}  // namespace claa
