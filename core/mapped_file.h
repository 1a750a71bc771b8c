// A read-only memory map of a whole file plus a bounds-checked cursor over it.
// Every read of untrusted bytes (GGUF, safetensors) goes through ByteReader so a truncated or
// corrupt file produces a claa::Error naming the file and offset instead of an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/error.h"

namespace claa {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Sequential little-endian reader over [begin, end) of a buffer.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  void seek(size_t pos) {
    require(pos <= size_, where() + ": seek past end of file");
    pos_ = pos;
  }

  template <typename T>
  T read() {
    need(sizeof(T), "value");
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  std::string_view read_bytes(size_t n, const char* what) {
    need(n, what);
    std::string_view view(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return view;
  }

  std::string where() const { return source_ + " at byte " + std::to_string(pos_); }

 private:
  void need(size_t n, const char* what) const {
    if (n > size_ - pos_) {
      throw Error(source_ + ": truncated or corrupt file (reading " + what + " of " + std::to_string(n) +
                  " bytes at byte " + std::to_string(pos_) + ", file has " + std::to_string(size_) + ")");
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string source_;
};

}  // namespace claa
