// GGUF reader: metadata of every type, tensor infos and data, and corrupt files that must fail
// with one clear claa::Error (never a crash or an out-of-bounds read).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "formats/dequant.h"
#include "formats/gguf.h"
#include "model/model_config.h"
#include "model/weights.h"
#include "tests/catch.h"
#include "tests/formats/gguf_writer.h"
#include "tests/model_fixture.h"

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("claa_test_" + std::to_string(getpid()) + "_" + name)).string();
}
}  // namespace

TEST_CASE("GGUF: every metadata type and tensor data are read", "[gguf]") {
  std::string path = temp_path("small.gguf");
  test_gguf::small_file().save(path);
  claa::GgufFile g(path);
  CHECK(g.version() == 3);
  CHECK(g.get_string("general.architecture") == "llama");
  CHECK(g.get_int("llama.block_count") == 2);
  CHECK(g.get_int("test.i8") == -5);
  CHECK(g.get_float("test.f32") == 1.5);
  CHECK(g.get_float("test.f64") == -2.25);
  CHECK(g.get_int("test.bool") == 1);
  CHECK(g.get_int("test.u64") == (int64_t{1} << 40));
  CHECK(g.get_int("test.i64") == -7);
  CHECK(g.get_string_array("test.strings") == std::vector<std::string>{"a", "bc", ""});
  CHECK(g.get_int_array("test.ints") == std::vector<int64_t>{1, -2, 3});
  CHECK_THROWS_WITH(g.get_int("missing.key"), Catch::Contains("missing metadata key missing.key"));
  CHECK_THROWS_WITH(g.get_int("general.architecture"), Catch::Contains("not an integer"));

  const claa::GgufTensorInfo* t = g.find_tensor("t.f32");
  REQUIRE(t != nullptr);
  CHECK(t->torch_shape() == std::vector<int64_t>{3, 2});
  std::vector<float> v(6);
  claa::dequantize(t->type, g.tensor_bytes(*t), 6, v.data());
  CHECK(v == std::vector<float>{1, 2, 3, 4, 5, 6});
  const claa::GgufTensorInfo* h = g.find_tensor("t.f16");
  std::vector<float> hv(4);
  claa::dequantize(h->type, g.tensor_bytes(*h), 4, hv.data());
  CHECK(hv == std::vector<float>{1, -2, 0, 0.5});
}

TEST_CASE("GGUF: every truncation of a valid file fails cleanly", "[gguf][corrupt]") {
  test_gguf::Writer w = test_gguf::small_file();
  std::string path = temp_path("trunc.gguf");
  for (size_t keep = 0; keep < w.bytes().size(); ++keep) {
    INFO("file cut to " << keep << " bytes");
    w.save(path, keep);
    CHECK_THROWS_AS(claa::GgufFile(path), claa::Error);
  }
}

TEST_CASE("GGUF: corrupt headers name the problem", "[gguf][corrupt]") {
  std::string path = temp_path("bad.gguf");
  auto expect = [&](test_gguf::Writer w, const char* message) {
    w.save(path);
    CHECK_THROWS_WITH(claa::GgufFile(path), Catch::Contains(message));
  };
  test_gguf::Writer bad_magic = test_gguf::small_file();
  bad_magic.bytes()[0] = 'X';
  expect(bad_magic, "not a GGUF file");

  test_gguf::Writer bad_version = test_gguf::small_file();
  bad_version.bytes()[4] = 9;
  expect(bad_version, "unsupported GGUF version 9");

  test_gguf::Writer huge_string;
  huge_string.header(3, 0, 1);
  huge_string.raw<uint64_t>(1ull << 50);
  expect(huge_string, "implausible");

  test_gguf::Writer bad_type;
  bad_type.header(3, 0, 1);
  bad_type.str("k");
  bad_type.raw<uint32_t>(77);
  expect(bad_type, "unknown metadata value type 77");

  test_gguf::Writer five_dims;
  five_dims.header(3, 1, 0);
  five_dims.tensor_info("t", {1, 1, 1, 1, 1}, 0, 0);
  expect(five_dims, "has 5 dims");

  test_gguf::Writer past_end;
  past_end.header(3, 1, 0);
  past_end.tensor_info("t", {1024}, 0, 0);
  past_end.align();
  expect(past_end, "extends past the end of the file");

  std::filesystem::create_directories(path + ".dir");
  CHECK_THROWS_WITH(claa::GgufFile(path + ".dir"), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(claa::GgufFile(path + ".missing"), Catch::Contains("cannot open"));
}

TEST_CASE("GGUF: a truncated copy of the real model fails with one error", "[gguf][corrupt]") {
  std::string model = default_model_path();
  std::string path = temp_path("truncated_model.gguf");
  for (size_t keep : {size_t{100}, size_t{2'000'000}, size_t{50'000'000}}) {
    std::ifstream in(model, std::ios::binary);
    std::vector<char> buf(keep);
    in.read(buf.data(), keep);
    std::ofstream(path, std::ios::binary).write(buf.data(), keep);
    INFO("kept " << keep << " bytes");
    CHECK_THROWS_AS(claa::GgufFile(path), claa::Error);
  }
}

TEST_CASE("GGUF: SmolLM2 metadata matches the model card", "[gguf]") {
  claa::GgufFile g(default_model_path());
  claa::ModelConfig c = claa::ModelConfig::from_gguf(g);
  CHECK(c.architecture == "llama");
  CHECK(c.n_layers == 30);
  CHECK(c.hidden == 576);
  CHECK(c.n_heads == 9);
  CHECK(c.n_kv_heads == 3);
  CHECK(c.head_dim == 64);
  CHECK(c.ffn == 1536);
  CHECK(c.vocab == 49152);
  CHECK(c.context == 8192);
  CHECK(c.rope_theta == 100000.0);
  CHECK(c.tied_embeddings);
  CHECK(c.eos_ids == std::vector<int64_t>{2});
  CHECK(g.get_int("tokenizer.ggml.add_bos_token") == 0);
}

namespace {
// A synthetic GGUF with only the metadata ModelConfig reads: hidden 8, 2 heads (1 KV) of dim 2, FFN 16, a
// 4 × 8 token_embd, blk.{layers−1}.attn_norm.weight (the layer count's evidence) and any extra F32 tensors.
struct SyntheticGguf {
  std::string arch = "gemma2";
  uint32_t layers = 4, heads = 2;
  int64_t window = 4;                                 // attention.sliding_window; < 0: no key
  std::vector<std::pair<std::string, float>> floats;  // {arch}.KEY → value
  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;  // GGUF order: columns first
  };
  std::vector<Tensor> tensors;  // beside token_embd and the last attn_norm; filled with 0.5
  float extra_value = 0.5f;
  uint32_t norm_layers = 0;  // names the attn_norm for this many layers instead (0: layers)
};

std::string write_synthetic(const SyntheticGguf& s, const std::string& name) {
  std::vector<SyntheticGguf::Tensor> tensors = {
      {"token_embd.weight", {8, 4}},
      {"blk." + std::to_string((s.norm_layers ? s.norm_layers : s.layers) - 1) + ".attn_norm.weight", {8}}};
  tensors.insert(tensors.end(), s.tensors.begin(), s.tensors.end());
  test_gguf::Writer w;
  w.header(3, tensors.size(), 7 + (s.window >= 0 ? 1 : 0) + s.floats.size());
  const std::string& arch = s.arch;
  w.kv_str("general.architecture", arch);
  w.kv_u32(arch + ".block_count", s.layers);
  w.kv_u32(arch + ".embedding_length", 8);
  w.kv_u32(arch + ".attention.head_count", s.heads);
  w.kv_u32(arch + ".attention.head_count_kv", 1);
  w.kv_u32(arch + ".attention.key_length", 2);
  w.kv_u32(arch + ".feed_forward_length", 16);
  if (s.window >= 0) w.kv_u32(arch + ".attention.sliding_window", static_cast<uint32_t>(s.window));
  for (const auto& [key, v] : s.floats) w.kv_f32(arch + "." + key, v);
  std::vector<size_t> sizes;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    size_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    sizes.push_back(n);
    w.tensor_info(t.name, t.ne, 0, offset);
    offset += (n * sizeof(float) + 31) / 32 * 32;
  }
  w.align();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::vector<float> values(sizes[i], i < 2 ? 0.5f : s.extra_value);
    w.data(values.data(), values.size() * sizeof(float));
    w.align();
  }
  const std::string path = temp_path(name + ".gguf");
  w.save(path);
  return path;
}

claa::ModelConfig synthetic_config(const SyntheticGguf& s) {
  const std::string path = write_synthetic(s, s.arch + "_" + std::to_string(s.layers));
  struct Remove {
    std::string path;
    ~Remove() { std::filesystem::remove(path); }
  } remove{path};
  const claa::GgufFile g(path);
  return claa::ModelConfig::from_gguf(g);
}

claa::ModelConfig gemma_config(const std::string& arch, uint32_t layers, float scale) {
  SyntheticGguf s;
  s.arch = arch;
  s.layers = layers;
  if (scale > 0) s.floats.push_back({"attention.scale", scale});
  return synthetic_config(s);
}
}  // namespace

TEST_CASE("GGUF: Gemma's attention scale is the file's attention.scale, else llama.cpp's rule by model size",
          "[gguf]") {
  // llama.cpp (llama-model.cpp, after gemma_pytorch's config.py): (hidden / heads)^-1/2 for the 27B
  // models (Gemma 2: 46 layers, Gemma 3: 62), head_dim^-1/2 for every other size.
  CHECK(gemma_config("gemma2", 46, 0).query_scale == Approx(1.0 / 2.0));             // hidden / heads = 4
  CHECK(gemma_config("gemma2", 26, 0).query_scale == Approx(1.0 / std::sqrt(2.0)));  // head_dim = 2
  CHECK(gemma_config("gemma3", 62, 0).query_scale == Approx(1.0 / 2.0));
  CHECK(gemma_config("gemma3", 26, 0).query_scale == Approx(1.0 / std::sqrt(2.0)));
  CHECK(gemma_config("gemma3", 26, 0.25f).query_scale == 0.25);
  // What else llama.cpp keeps in code: Gemma 2's soft-caps 50 / 30 and every other layer sliding, Gemma 3's
  // five of six sliding layers with RoPE base 10000 there.
  const claa::ModelConfig g2 = gemma_config("gemma2", 4, 0);
  CHECK((g2.attn_softcap == 50.0 && g2.final_softcap == 30.0));
  CHECK(g2.sliding_layers == std::vector<uint8_t>{1, 0, 1, 0});
  const claa::ModelConfig g3 = gemma_config("gemma3", 7, 0);
  CHECK((g3.attn_softcap == 0.0 && g3.final_softcap == 0.0 && g3.rope_local_theta == 10000.0));
  CHECK(g3.sliding_layers == std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 1});
  CHECK(g3.architecture == "gemma3_text");
}

TEST_CASE("GGUF: an architecture claa does not read is refused in one line", "[gguf]") {
  test_gguf::Writer w;
  w.header(3, 0, 1);
  w.kv_str("general.architecture", "gemma3n");
  w.align();
  w.data("\0", 1);
  const std::string path = temp_path("gemma3n.gguf");
  w.save(path);
  const claa::GgufFile g(path);
  CHECK_THROWS_WITH(claa::ModelConfig::from_gguf(g), Catch::Contains("GGUF architecture 'gemma3n' is not supported"));
  std::filesystem::remove(path);
}

TEST_CASE("GGUF: corrupt or implausible metadata gives one line, not wrong numbers or a huge allocation",
          "[gguf][corrupt]") {
  using Catch::Contains;
  auto with_float = [](const std::string& arch, const std::string& key, float v) {
    SyntheticGguf s;
    s.arch = arch;
    s.floats.push_back({key, v});
    return s;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(synthetic_config(with_float("gemma2", "rope.freq_base", nan)),
                    Contains("gemma2.rope.freq_base must be finite and positive"));
  CHECK_THROWS_WITH(synthetic_config(with_float("qwen2", "rope.freq_base", 0)),
                    Contains("qwen2.rope.freq_base must be finite and positive"));
  CHECK_THROWS_WITH(synthetic_config(with_float("gemma3", "rope.freq_base_swa", -1)),
                    Contains("gemma3.rope.freq_base_swa must be finite and positive"));
  CHECK_THROWS_WITH(synthetic_config(with_float("gemma2", "attn_logit_softcapping", 0)),
                    Contains("gemma2.attn_logit_softcapping must be finite and positive"));
  CHECK_THROWS_WITH(synthetic_config(with_float("gemma2", "final_logit_softcapping", inf)),
                    Contains("gemma2.final_logit_softcapping must be finite and positive"));
  // Phi-3's LongRoPE: the attention factor and every divisor of the factor tensors (head_dim / 2 = 1 each).
  SyntheticGguf phi3 = with_float("phi3", "rope.scaling.attn_factor", nan);
  phi3.tensors = {{"rope_factors_long.weight", {1}}, {"rope_factors_short.weight", {1}}};
  CHECK_THROWS_WITH(synthetic_config(phi3), Contains("phi3.rope.scaling.attn_factor must be finite and positive"));
  phi3.floats.clear();
  CHECK(synthetic_config(phi3).rope_scaling.long_factor == std::vector<double>{0.5});
  phi3.extra_value = 0;
  CHECK_THROWS_WITH(synthetic_config(phi3),
                    Contains("rope_factors_long.weight must hold finite positive RoPE divisors"));
  // A block_count the file's tensors do not back is refused before anything is sized by it.
  SyntheticGguf huge;
  huge.layers = 4000000000u;
  huge.norm_layers = 4;
  CHECK_THROWS_WITH(
      synthetic_config(huge),
      Contains("gemma2.block_count is 4000000000 but the file has no tensor blk.3999999999.attn_norm.weight"));
}

TEST_CASE("GGUF: a Gemma 2 27B-sized config with no heads is refused in one line", "[gguf][corrupt]") {
  // 46 layers selects llama.cpp's 27B attention scale, hidden / heads: the shapes are checked before it divides.
  SyntheticGguf s;
  s.layers = 46;
  s.heads = 0;
  CHECK_THROWS_WITH(synthetic_config(s), Catch::Contains("model head count must be positive (got 0)"));
}

TEST_CASE("GGUF: Phi-3 slides on every layer when the file has a window (as HF), else full attention", "[gguf]") {
  SyntheticGguf s;
  s.arch = "phi3";
  const claa::ModelConfig windowed = synthetic_config(s);
  CHECK(windowed.sliding_window == 4);
  CHECK(windowed.sliding_layers == std::vector<uint8_t>{1, 1, 1, 1});
  s.window = -1;
  const claa::ModelConfig full = synthetic_config(s);
  CHECK(full.sliding_window == 0);
  CHECK(full.sliding_layers.empty());
}

TEST_CASE("GGUF weights: fused tensors only for Phi-3, a fused q/k/v bias refused", "[gguf]") {
  // One llama layer without ffn_gate: hidden 8, q 2 · 2 = 4 rows, k / v 2 rows, FFN 16, tied embeddings.
  SyntheticGguf s;
  s.arch = "llama";
  s.layers = 1;
  s.window = -1;
  s.tensors = {{"output_norm.weight", {8}},      {"blk.0.ffn_norm.weight", {8}},
               {"blk.0.attn_q.weight", {8, 4}},  {"blk.0.attn_k.weight", {8, 2}},
               {"blk.0.attn_v.weight", {8, 2}},  {"blk.0.attn_output.weight", {4, 8}},
               {"blk.0.ffn_up.weight", {8, 32}}, {"blk.0.ffn_down.weight", {16, 8}}};
  auto load = [](const SyntheticGguf& file, const std::string& name) {
    const std::string path = write_synthetic(file, name);
    struct Remove {
      std::string path;
      ~Remove() { std::filesystem::remove(path); }
    } remove{path};
    const claa::GgufFile g(path);
    return claa::load_gguf_weights(g, claa::ModelConfig::from_gguf(g));
  };
  // ffn_up has 2 · FFN rows, as Phi-3's fused gate_up would: a llama file is still missing its gate.
  CHECK_THROWS_WITH(load(s, "llama_no_gate"), Catch::Contains("missing tensor blk.0.ffn_gate.weight"));
  s.tensors.push_back({"blk.0.attn_qkv.bias", {8}});
  CHECK_THROWS_WITH(load(s, "llama_qkv_bias"),
                    Catch::Contains("tensor blk.0.attn_qkv.bias (a fused q/k/v bias) is not supported"));
}
