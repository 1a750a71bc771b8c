// ggml dequantisation against gguf-py's numpy dequantize() (tools/make_dequant_goldens.py):
// random blocks of every supported type, and real tensors of the default model.
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/dequant.h"
#include "formats/gguf.h"
#include "model/weights.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {
std::string from_hex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}
nlohmann::json goldens() {
  std::ifstream in(source_path("tests/fixtures/model/dequant.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}
}  // namespace

TEST_CASE("Dequantisation matches gguf-py for every supported type", "[dequant]") {
  for (const auto& c : goldens()["cases"]) {
    INFO("type " << c["name"].get<std::string>());
    std::string raw = from_hex(c["hex"].get<std::string>());
    int64_t n = c["n"].get<int64_t>();
    std::vector<float> out(n);
    claa::dequantize(c["type"].get<uint32_t>(), raw, n, out.data());
    std::vector<double> want = c["values"].get<std::vector<double>>();
    REQUIRE(want.size() == out.size());
    for (int64_t i = 0; i < n; ++i) {
      INFO("value " << i);
      REQUIRE(out[i] == Approx(want[i]).margin(1e-6).epsilon(1e-6));
    }
  }
}

TEST_CASE("Dequantised real SmolLM2 tensors match gguf-py", "[dequant]") {
  claa::GgufFile g(default_model_path());
  for (const auto& t : goldens()["real_tensors"]) {
    std::string name = t["name"].get<std::string>();
    INFO("tensor " << name);
    const claa::GgufTensorInfo* info = g.find_tensor(name);
    REQUIRE(info != nullptr);
    std::vector<float> out(info->numel());
    claa::dequantize(info->type, g.tensor_bytes(*info), info->numel(), out.data());
    std::vector<double> first = t["first"].get<std::vector<double>>();
    for (size_t i = 0; i < first.size(); ++i) CHECK(out[i] == Approx(first[i]).margin(1e-7));
    double sum = 0, sum_abs = 0;
    for (float v : out) sum += v, sum_abs += std::abs(v);
    CHECK(sum == Approx(t["sum"].get<double>()).epsilon(1e-5).margin(1e-3));
    CHECK(sum_abs == Approx(t["sum_abs"].get<double>()).epsilon(1e-6));
  }
}

TEST_CASE("Dequantisation rejects partial blocks and unknown types", "[dequant]") {
  CHECK_THROWS_WITH(claa::ggml_row_bytes(2, 33), Catch::Contains("not a whole number of Q4_0 blocks"));
  CHECK_THROWS_WITH(claa::ggml_row_bytes(99, 32), Catch::Contains("unsupported ggml tensor type"));
  CHECK(claa::ggml_row_bytes(14, 512) == 420);
  CHECK(claa::half_to_float(0x0001) == Approx(5.960464477539063e-08));  // smallest subnormal
  CHECK(std::isinf(claa::half_to_float(0x7C00)));
}

TEST_CASE("Q/K row un-permutation inverts llama.cpp's permute", "[gguf]") {
  // llama.cpp convert_hf_to_gguf permute(): reshape(n_head, 2, rows/n_head/2, in).swapaxes(1, 2).
  const int64_t n_head = 3, head_dim = 4, in = 2;
  at::Tensor hf = at::arange(n_head * head_dim * in, at::kFloat).reshape({n_head * head_dim, in});
  at::Tensor gguf = hf.reshape({n_head, 2, head_dim / 2, in}).transpose(1, 2).reshape({n_head * head_dim, in});
  CHECK(at::equal(claa::unpermute_qk_rows(gguf, n_head), hf));
}
