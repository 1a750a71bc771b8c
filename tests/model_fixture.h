// Shared test helpers: where the default model lives, and a loaded copy of it per process.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/model_loader.h"
#include "tests/catch.h"

// The default model's path; fails the test (never skips) when setup has not fetched it.
inline std::string default_model_path() {
  std::string path = claa::default_model_path();
  if (!std::filesystem::exists(path)) FAIL("model file " << path << " not found: run scripts/setup.sh first");
  return path;
}

// SmolLM2 on CPU fp32, loaded once per test process.
inline const claa::LoadedModel& default_model() {
  static std::unique_ptr<claa::LoadedModel> model;
  if (!model) model = std::make_unique<claa::LoadedModel>(claa::load_model(default_model_path(), claa::RuntimeOptions{}));
  return *model;
}

// Keeps each layer's H2O column sums, in layer order (the fused attention computes them when asked).
class ColumnSumTap : public claa::LayerTap {
 public:
  bool wants_column_sums(int) const override { return true; }
  void on_attention_column_sums(int layer, const at::Tensor& sums) override { sums_.push_back(sums.clone()); }
  std::vector<at::Tensor> sums_;
};

// HF transformers' reference outputs for the tiny llama3 / qwen2 / mistral models
// (tests/fixtures/model/tiny/, tools/make_tiny_models.py).
inline nlohmann::json tiny_model_reference() {
  std::ifstream in(source_path("tests/fixtures/model/tiny/reference.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}
