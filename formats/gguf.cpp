#include "formats/gguf.h"

#include <limits>

#include "formats/dequant.h"

namespace claa {

namespace {

constexpr uint64_t kMaxStringBytes = 1ull << 30;    // 1 GiB: anything larger is corruption
constexpr uint64_t kMaxArrayElements = 1ull << 28;  // 268M elements
constexpr int kMaxArrayDepth = 4;

std::string read_string(ByteReader& r) {
  uint64_t n = r.read<uint64_t>();
  require(n <= kMaxStringBytes, r.where() + ": string length " + std::to_string(n) + " is implausible (corrupt file?)");
  return std::string(r.read_bytes(n, "string"));
}

GgufValue read_value(ByteReader& r, uint32_t raw_type, int depth);

GgufValue read_scalar_or_array(ByteReader& r, GgufValueType t, int depth) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufValueType::U8: v.i = r.read<uint8_t>(); break;
    case GgufValueType::I8: v.i = r.read<int8_t>(); break;
    case GgufValueType::U16: v.i = r.read<uint16_t>(); break;
    case GgufValueType::I16: v.i = r.read<int16_t>(); break;
    case GgufValueType::U32: v.i = r.read<uint32_t>(); break;
    case GgufValueType::I32: v.i = r.read<int32_t>(); break;
    case GgufValueType::U64: {
      uint64_t u = r.read<uint64_t>();
      require(u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), r.where() + ": u64 value out of range");
      v.i = static_cast<int64_t>(u);
      break;
    }
    case GgufValueType::I64: v.i = r.read<int64_t>(); break;
    case GgufValueType::F32: v.f = r.read<float>(); break;
    case GgufValueType::F64: v.f = r.read<double>(); break;
    case GgufValueType::BOOL: {
      uint8_t b = r.read<uint8_t>();
      require(b <= 1, r.where() + ": bool value " + std::to_string(b) + " is not 0 or 1");
      v.i = b;
      break;
    }
    case GgufValueType::STRING: v.s = read_string(r); break;
    case GgufValueType::ARRAY: {
      require(depth < kMaxArrayDepth, r.where() + ": arrays nested too deeply");
      uint32_t elem = r.read<uint32_t>();
      uint64_t count = r.read<uint64_t>();
      require(count <= kMaxArrayElements, r.where() + ": array length " + std::to_string(count) + " is implausible");
      // Each element needs at least one byte: reject counts the file cannot possibly hold.
      require(count <= r.remaining(), r.where() + ": array of " + std::to_string(count) + " elements exceeds the file");
      v.elem_type = static_cast<GgufValueType>(elem);
      v.array.reserve(count);
      for (uint64_t k = 0; k < count; ++k) v.array.push_back(read_value(r, elem, depth + 1));
      break;
    }
  }
  return v;
}

GgufValue read_value(ByteReader& r, uint32_t raw_type, int depth) {
  require(raw_type <= 12, r.where() + ": unknown metadata value type " + std::to_string(raw_type));
  return read_scalar_or_array(r, static_cast<GgufValueType>(raw_type), depth);
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::F32:
    case GgufValueType::F64:
    case GgufValueType::STRING:
    case GgufValueType::ARRAY: return false;
    default: return true;
  }
}

std::string ggml_type_name(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::BF16: return "BF16";
  }
  return "type" + std::to_string(type);
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

std::vector<int64_t> GgufTensorInfo::torch_shape() const { return std::vector<int64_t>(ne.rbegin(), ne.rend()); }

GgufFile::GgufFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  ByteReader r(file_->data(), file_->size(), path);
  std::string_view magic = r.read_bytes(4, "magic");
  require(magic == "GGUF", path + ": not a GGUF file (bad magic)");
  version_ = r.read<uint32_t>();
  require(version_ == 2 || version_ == 3, path + ": unsupported GGUF version " + std::to_string(version_));
  uint64_t n_tensors = r.read<uint64_t>();
  uint64_t n_kv = r.read<uint64_t>();
  require(n_tensors <= 1'000'000, path + ": tensor count " + std::to_string(n_tensors) + " is implausible");
  require(n_kv <= 1'000'000, path + ": metadata count " + std::to_string(n_kv) + " is implausible");

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = read_string(r);
    uint32_t type = r.read<uint32_t>();
    require(!metadata_.count(key), path + ": duplicate metadata key " + key);
    metadata_[key] = read_value(r, type, 0);
  }

  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensorInfo info;
    info.name = read_string(r);
    uint32_t n_dims = r.read<uint32_t>();
    require(n_dims >= 1 && n_dims <= 4, path + ": tensor " + info.name + " has " + std::to_string(n_dims) + " dims");
    // The element count is bounded as it grows: multiplying first could overflow int64 (undefined
    // behaviour; found by fuzz_gguf, fuzz/corpus/gguf/regression_numel_overflow.gguf).
    constexpr uint64_t kMaxElements = 1ull << 40;
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = r.read<uint64_t>();
      require(dim >= 1 && dim <= kMaxElements,
              path + ": tensor " + info.name + " has bad dimension " + std::to_string(dim));
      require(dim <= kMaxElements / elements, path + ": tensor " + info.name + " is too large");
      elements *= dim;
      info.ne.push_back(static_cast<int64_t>(dim));
    }
    info.type = r.read<uint32_t>();
    info.offset = r.read<uint64_t>();
    require(!tensor_index_.count(info.name), path + ": duplicate tensor " + info.name);
    tensor_index_[info.name] = tensors_.size();
    tensors_.push_back(std::move(info));
  }

  uint64_t alignment = static_cast<uint64_t>(get_int("general.alignment", 32));
  require(alignment > 0 && (alignment & (alignment - 1)) == 0, path + ": general.alignment must be a power of two");
  data_offset_ = align_up(r.offset(), alignment);
  require(data_offset_ <= file_->size(), path + ": truncated before the tensor data section");
  uint64_t data_size = file_->size() - data_offset_;

  for (GgufTensorInfo& info : tensors_) {
    require(info.offset % alignment == 0, path + ": tensor " + info.name + " is not aligned");
    // Unsupported types stay listed (claa info shows them) but get n_bytes = 0; loading them fails clearly.
    try {
      info.n_bytes = ggml_row_bytes(info.type, info.numel());
    } catch (const Error&) {
      info.n_bytes = 0;
      continue;
    }
    require(info.offset <= data_size && info.n_bytes <= data_size - info.offset,
            path + ": tensor " + info.name + " extends past the end of the file (truncated?)");
  }
}

const GgufValue& GgufFile::get(const std::string& key) const {
  auto it = metadata_.find(key);
  require(it != metadata_.end(), path() + ": missing metadata key " + key);
  return it->second;
}

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue& v = get(key);
  require(v.is_integer(), path() + ": metadata " + key + " is not an integer");
  return v.i;
}

int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& v = get(key);
  if (v.is_integer()) return static_cast<double>(v.i);
  require(v.is_float(), path() + ": metadata " + key + " is not a number");
  return v.f;
}

double GgufFile::get_float(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const GgufValue& v = get(key);
  require(v.type == GgufValueType::STRING, path() + ": metadata " + key + " is not a string");
  return v.s;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  const GgufValue& v = get(key);
  require(v.type == GgufValueType::ARRAY && v.elem_type == GgufValueType::STRING,
          path() + ": metadata " + key + " is not an array of strings");
  std::vector<std::string> out;
  out.reserve(v.array.size());
  for (const GgufValue& e : v.array) out.push_back(e.s);
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  const GgufValue& v = get(key);
  require(v.type == GgufValueType::ARRAY, path() + ": metadata " + key + " is not an array");
  std::vector<int64_t> out;
  out.reserve(v.array.size());
  for (const GgufValue& e : v.array) {
    require(e.is_integer(), path() + ": metadata " + key + " is not an array of integers");
    out.push_back(e.i);
  }
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::string_view GgufFile::tensor_bytes(const GgufTensorInfo& info) const {
  require(info.n_bytes > 0, path() + ": tensor " + info.name + " has unsupported type " + ggml_type_name(info.type));
  return std::string_view(reinterpret_cast<const char*>(file_->data() + data_offset_ + info.offset), info.n_bytes);
}

}  // namespace claa
