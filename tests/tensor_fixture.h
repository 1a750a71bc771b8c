// The golden fixtures the tools/ scripts write as NAME.json (an index: {"tensors": {key: {"offset",
// "shape"}}, plus the script's settings) beside NAME.f32 (every tensor's float32 values, little-endian,
// back to back), read once per test.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/model_fixture.h"

struct TensorFixture {
  nlohmann::json index;
  std::vector<float> values;
  // `stem` relative to the source tree, e.g. "tests/fixtures/model/kvzip_reference".
  explicit TensorFixture(const std::string& stem) {
    std::ifstream meta(source_path(stem + ".json"));
    REQUIRE(meta.good());
    index = nlohmann::json::parse(meta);
    std::ifstream data(source_path(stem + ".f32"), std::ios::binary);
    REQUIRE(data.good());
    data.seekg(0, std::ios::end);
    values.resize(static_cast<size_t>(data.tellg()) / 4);
    data.seekg(0);
    data.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
  }
  // The tensor's values, flattened; `skip` of them first (a row offset).
  std::vector<float> get(const std::string& key, size_t skip = 0, size_t count = 0) const {
    const nlohmann::json& tensors = index["tensors"];
    REQUIRE(tensors.contains(key));
    size_t n = 1;
    for (const auto& d : tensors[key]["shape"]) n *= d.get<size_t>();
    if (count == 0) count = n - skip;
    REQUIRE(skip + count <= n);
    const size_t offset = tensors[key]["offset"].get<size_t>() + skip;
    return std::vector<float>(values.begin() + offset, values.begin() + offset + count);
  }
};
