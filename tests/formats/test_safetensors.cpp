// safetensors reader: a valid small file, then corrupt headers and offsets.
#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"
#include "tests/catch.h"

namespace {

std::string write_file(const std::string& name, const std::string& header, size_t data_bytes) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("claa_test_" + std::to_string(getpid()) + "_" + name)).string();
  std::ofstream out(path, std::ios::binary);
  uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  std::vector<float> data(data_bytes / 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  out.write(reinterpret_cast<const char*>(data.data()), data_bytes);
  return path;
}

}  // namespace

TEST_CASE("safetensors: tensors are located and validated", "[safetensors]") {
  std::string header = R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                       R"("b":{"dtype":"F16","shape":[4],"data_offsets":[16,24]}}   )";
  claa::SafetensorsFile f(write_file("ok.safetensors", header, 24));
  REQUIRE(f.find("a") != nullptr);
  CHECK(f.find("a")->shape == std::vector<int64_t>{2, 2});
  // memcpy, not a float* cast: this header is not padded to 8 bytes, so the payload is unaligned
  // (UBSan caught the cast; the loader itself copies bytes too).
  float a[4];
  std::memcpy(a, f.bytes(*f.find("a")).data(), sizeof a);
  CHECK(a[3] == 3.0f);
  CHECK(f.find("b")->dtype == "F16");
  CHECK(f.find("c") == nullptr);
}

TEST_CASE("safetensors: corrupt files fail with one clear error", "[safetensors][corrupt]") {
  auto expect = [](const std::string& header, size_t data, const char* message) {
    CHECK_THROWS_WITH(claa::SafetensorsFile(write_file("bad.safetensors", header, data)), Catch::Contains(message));
  };
  expect(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, "outside the file");
  expect(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16, "does not match its shape");
  expect(R"({"a":{"dtype":"Q9","shape":[4],"data_offsets":[0,16]}})", 16, "unknown dtype");
  expect(
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
      16, "overlap");
  expect(R"({"a":{"dtype":"F32","shape":[4]}})", 16, "lacks dtype/shape/data_offsets");
  expect(R"({"a": [1, 2)", 16, "malformed safetensors header");
  // Header size larger than the file.
  std::string path = (std::filesystem::temp_directory_path() / "claa_test_short.safetensors").string();
  std::ofstream(path, std::ios::binary).write("\xff\xff\x00\x00\x00\x00\x00\x00{}", 10);
  CHECK_THROWS_WITH(claa::SafetensorsFile(path), Catch::Contains("exceeds the file"));
}

TEST_CASE("safetensors writer: the header layout of the format and a round trip through the reader", "[safetensors]") {
  std::vector<claa::SafetensorsEntry> tensors = {{"layer0/per_head", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                                 {"layer0/combined", {3}, {0.5f, -1.0f, 7.25f}}};
  const std::string bytes = claa::safetensors_bytes(tensors, {{"format", "claa-scores"}});
  // u64 LE header size, a JSON header padded with spaces to 8 bytes, then 36 bytes of F32.
  uint64_t size = 0;
  for (int i = 7; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  CHECK(size % 8 == 0);
  CHECK(bytes.size() == 8 + size + 9 * 4);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, size));
  CHECK(header["__metadata__"]["format"] == "claa-scores");
  CHECK(header["layer0/per_head"]["data_offsets"] == nlohmann::json::array({0, 24}));
  CHECK(header["layer0/combined"]["data_offsets"] == nlohmann::json::array({24, 36}));
  CHECK(header["layer0/combined"]["shape"] == nlohmann::json::array({3}));

  const std::string path =
      (std::filesystem::temp_directory_path() / ("claa_test_" + std::to_string(getpid()) + "_written.safetensors"))
          .string();
  claa::write_safetensors(path, tensors, {{"format", "claa-scores"}});
  claa::SafetensorsFile f(path);
  REQUIRE(f.find("layer0/combined") != nullptr);
  CHECK(f.find("layer0/per_head")->shape == std::vector<int64_t>{2, 3});
  float c[3];
  std::memcpy(c, f.bytes(*f.find("layer0/combined")).data(), sizeof c);
  CHECK(c[0] == 0.5f);
  CHECK(c[2] == 7.25f);
  std::filesystem::remove(path);

  CHECK_THROWS_WITH(claa::safetensors_bytes({{"a", {2}, {1}}}), Catch::Contains("has 1 values for its shape"));
  CHECK_THROWS_WITH(claa::safetensors_bytes({{"a", {1}, {1}}, {"a", {1}, {2}}}), Catch::Contains("written twice"));
}
