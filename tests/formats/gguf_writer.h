// A minimal GGUF v3 writer for tests: builds small valid files, which the tests then corrupt.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace test_gguf {

class Writer {
 public:
  template <typename T>
  void raw(T v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    raw<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bytes_.insert(bytes_.end(), {'G', 'G', 'U', 'F'});
    raw(version);
    raw(n_tensors);
    raw(n_kv);
  }
  void kv_u32(const std::string& k, uint32_t v) { str(k), raw<uint32_t>(4), raw(v); }
  void kv_i8(const std::string& k, int8_t v) { str(k), raw<uint32_t>(1), raw(v); }
  void kv_f32(const std::string& k, float v) { str(k), raw<uint32_t>(6), raw(v); }
  void kv_f64(const std::string& k, double v) { str(k), raw<uint32_t>(12), raw(v); }
  void kv_bool(const std::string& k, bool v) { str(k), raw<uint32_t>(7), raw<uint8_t>(v); }
  void kv_u64(const std::string& k, uint64_t v) { str(k), raw<uint32_t>(10), raw(v); }
  void kv_i64(const std::string& k, int64_t v) { str(k), raw<uint32_t>(11), raw(v); }
  void kv_str(const std::string& k, const std::string& v) { str(k), raw<uint32_t>(8), str(v); }
  void kv_str_array(const std::string& k, const std::vector<std::string>& v) {
    str(k), raw<uint32_t>(9), raw<uint32_t>(8), raw<uint64_t>(v.size());
    for (const auto& s : v) str(s);
  }
  void kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    str(k), raw<uint32_t>(9), raw<uint32_t>(5), raw<uint64_t>(v.size());
    for (int32_t x : v) raw(x);
  }
  void tensor_info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    str(name);
    raw<uint32_t>(ne.size());
    for (uint64_t d : ne) raw(d);
    raw(type);
    raw(offset);
  }
  void align(size_t a = 32) {
    while (bytes_.size() % a) bytes_.push_back(0);
  }
  void data(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    bytes_.insert(bytes_.end(), c, c + n);
  }
  std::vector<char>& bytes() { return bytes_; }
  void save(const std::string& path, size_t keep = SIZE_MAX) const {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes_.data(), std::min(keep, bytes_.size()));
  }

 private:
  std::vector<char> bytes_;
};

// A valid file: metadata of every scalar type and arrays, one F32 tensor [3, 2] and one F16 [4].
inline Writer small_file() {
  Writer w;
  w.header(3, 2, 10);
  w.kv_str("general.architecture", "llama");
  w.kv_u32("llama.block_count", 2);
  w.kv_i8("test.i8", -5);
  w.kv_f32("test.f32", 1.5f);
  w.kv_f64("test.f64", -2.25);
  w.kv_bool("test.bool", true);
  w.kv_u64("test.u64", 1ull << 40);
  w.kv_i64("test.i64", -7);
  w.kv_str_array("test.strings", {"a", "bc", ""});
  w.kv_i32_array("test.ints", {1, -2, 3});
  w.tensor_info("t.f32", {2, 3}, 0, 0);
  w.tensor_info("t.f16", {4}, 1, 32);
  w.align();
  float f[6] = {1, 2, 3, 4, 5, 6};
  w.data(f, sizeof f);
  w.align();
  uint16_t h[4] = {0x3C00, 0xC000, 0x0000, 0x3800};  // 1, -2, 0, 0.5
  w.data(h, sizeof h);
  return w;
}

}  // namespace test_gguf
