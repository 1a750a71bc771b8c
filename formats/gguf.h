// GGUF v2/v3 reader (ggml docs/gguf.md): header, metadata key/values of every type, tensor infos.
// The file is memory-mapped; every count, offset and size is validated before use.
// Tensor payloads are returned as raw byte views; dequant.h turns them into floats.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace claa {

enum class GgufValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

// One metadata value. Scalars are widened (integers to int64/uint64 kept in `i`, floats in `f`);
// arrays keep their element type and children.
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  int64_t i = 0;                                // every integer and bool type (u64 values above INT64_MAX are rejected)
  double f = 0.0;                               // F32 / F64
  std::string s;                                // STRING
  GgufValueType elem_type = GgufValueType::U8;  // ARRAY
  std::vector<GgufValue> array;                 // ARRAY

  bool is_integer() const;
  bool is_float() const { return type == GgufValueType::F32 || type == GgufValueType::F64; }
};

// ggml tensor types this project can dequantise (values are ggml's enum numbers).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
};
std::string ggml_type_name(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the fastest axis (reverse of PyTorch)
  uint32_t type = 0;
  uint64_t offset = 0;   // relative to the data section
  uint64_t n_bytes = 0;  // validated payload size
  int64_t numel() const;
  std::vector<int64_t> torch_shape() const;  // ne reversed
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  bool has(const std::string& key) const { return metadata_.count(key) != 0; }
  const GgufValue& get(const std::string& key) const;  // throws a clear error if missing
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key) const;
  double get_float(const std::string& key, double fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback = "") const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;

  const GgufTensorInfo* find_tensor(const std::string& name) const;
  std::string_view tensor_bytes(const GgufTensorInfo& info) const;

 private:
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  uint64_t data_offset_ = 0;
};

}  // namespace claa
