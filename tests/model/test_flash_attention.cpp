// FlashAttention-3's Hopper kernel (model/cuda/flash_attention_hopper.*, via
// claa::cuda::flash_attention_causal) against an fp32 causal attention written here from the
// definition, softmax(q·kᵀ/√d + causal mask)·v with each query head reading KV head h / G; and a
// whole bf16 prefill through it against the same model through LibTorch's SDPA, both measured
// against the fp32 model. Skipped without a compute-capability 9.0 GPU or without the kernel in
// the build (configure with CLAA_FLASH_ATTENTION_DIR, README "GPU build").
//
// Tolerance: bf16 inputs, fp32 reference of those inputs. The kernel rounds the probabilities to
// bf16 before P·V and the output to bf16, as cuDNN's does: measured on a Hopper GPU at 2K tokens both
// reach a max |error| of 0.0094 on N(0, 1) inputs (tools/flash_attention/fa3_vs_cudnn.py). Bound:
// max |error| ≤ 2⁻⁶, mean |error| ≤ 1e-3.
#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/cuda_kernels.h"
#include "model/generate.h"
#include "model/model_loader.h"
#include "tests/catch.h"
#include "tests/temp_dir.h"

namespace {

bool skip_without_flash_attention() {
  if (!at::hasCUDA()) {
    WARN("no CUDA device: FlashAttention-3 is not tested here");
    return true;
  }
  if (!claa::cuda::flash_attention_built()) {
    WARN("this build has no FlashAttention-3 kernel (configure with CLAA_FLASH_ATTENTION_DIR)");
    return true;
  }
  auto probe = at::zeros({1, 2, 128}, at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16));
  if (!claa::cuda::flash_attention_applies(probe, probe, probe)) {
    WARN("this GPU is not compute capability 9.0: FlashAttention-3's Hopper kernel does not run here");
    return true;
  }
  return false;
}

// softmax(q·kᵀ/√d, causal)·v in fp32; q [H, T, d], k and v [H_kv, S, d] → [H, T, d], the queries being
// the last T of the S positions (query i sees keys 0 … i + S − T: a cache of S − T before them).
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const int64_t H = q.size(0), T = q.size(1), S = k.size(1), d = q.size(2), G = H / k.size(0);
  at::Tensor qf = q.to(at::kFloat), kf = k.to(at::kFloat).repeat_interleave(G, 0),
             vf = v.to(at::kFloat).repeat_interleave(G, 0);
  at::Tensor scores = at::matmul(qf, kf.transpose(1, 2)) / std::sqrt(static_cast<double>(d));
  at::Tensor future = at::ones({T, S}, scores.options().dtype(at::kBool)).triu(1 + S - T);
  return at::matmul(scores.masked_fill(future, -INFINITY).softmax(-1), vf);
}

// FlashAttention-3 on T queries over S keys (the last T of them new), laid out as the model passes
// them: the queries a strided view of claa's fused q|k|v rows, the keys and values as the KV cache
// holds them ([H_kv, capacity, d] narrowed to S). Checked against reference_attention with the
// header's bound; returns the kernel's output.
at::Tensor check_against_reference(int64_t H, int64_t Hkv, int64_t T, int64_t S) {
  const int64_t d = 128;
  auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor qkv = at::randn({T, (H + 2 * Hkv) * d}, opts);
  at::Tensor q = qkv.narrow(1, 0, H * d).view({T, H, d}).transpose(0, 1);
  at::Tensor k = at::randn({Hkv, S + 64, d}, opts).narrow(1, 0, S);
  at::Tensor v = at::randn({Hkv, S + 64, d}, opts).narrow(1, 0, S);
  REQUIRE(claa::cuda::flash_attention_applies(q, k, v));
  at::Tensor got = claa::cuda::flash_attention_causal(q, k, v);
  REQUIRE(got.sizes() == q.sizes());
  at::Tensor error = (got.to(at::kFloat) - reference_attention(q, k, v)).abs();
  INFO("max |error| " << error.max().item<double>() << ", mean " << error.mean().item<double>());
  CHECK(error.max().item<double>() <= 1.0 / 64);
  CHECK(error.mean().item<double>() <= 1e-3);
  return got;
}

}  // namespace

TEST_CASE("FlashAttention-3 causal prefill matches fp32 attention", "[model][kernels][cuda][flash]") {
  if (skip_without_flash_attention()) return;
  at::manual_seed(11);
  // GQA groups of 4 and 3, and one KV head per query head; lengths off the kernel's 128-row tiles and on them.
  for (auto [H, Hkv] : {std::pair<int64_t, int64_t>{8, 2}, {12, 4}, {4, 4}}) {
    for (int64_t T : {1, 2, 129, 1000, 2048}) {
      INFO(H << " query heads, " << Hkv << " KV heads, " << T << " tokens");
      const at::Tensor got = check_against_reference(H, Hkv, T, T);
      // The output is a view of [T, H, d]: the output projection reads its rows without a copy.
      CHECK(got.transpose(0, 1).is_contiguous());
    }
  }
}

TEST_CASE("FlashAttention-3 attends new tokens over a cache as the causal definition says", "[model][kernels][cuda][flash]") {
  // The queries are the last T of S positions (KVzip's reconstruction chunks, a prompt after a cached
  // prefix): FlashAttention's bottom-right causal mask, checked against the definition above.
  if (skip_without_flash_attention()) return;
  at::manual_seed(12);
  for (auto [T, past] : {std::pair<int64_t, int64_t>{2, 1}, {129, 1000}, {1000, 77}, {300, 4096}}) {
    INFO(T << " new tokens after " << past << " cached");
    check_against_reference(/*H=*/8, /*Hkv=*/2, T, past + T);
  }
}

TEST_CASE("KVzip's subset maxima through FlashAttention-3 match the subset softmax's definition",
          "[model][kernels][cuda][flash]") {
  // kvpress kvzip_press.py score_kvzip: the reconstruction chunk's queries (the last T of S positions)
  // take a softmax over the subset {sinks} ∪ {focus: the chunk's context keys} ∪ {the T new keys,
  // causal}; each focus key's score is the max of its probability over the group's query heads and the
  // queries. Reference written here in fp64 from the same bf16 inputs; tolerance as the column kernels'
  // (relative 2e-3 + 1e-4 absolute).
  if (skip_without_flash_attention()) return;
  at::manual_seed(14);
  auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const int64_t d = 128, H = 8, Hkv = 2, G = H / Hkv;
  struct Case {
    int64_t past, T, sinks, focus_begin, focus_end;
  };
  for (const Case& c : {Case{3000, 300, 4, 100, 1100}, Case{1200, 700, 0, 0, 500}, Case{2000, 65, 4, 4, 2000}}) {
    INFO(c.T << " new tokens after " << c.past << ", sinks " << c.sinks << ", focus " << c.focus_begin << "…"
             << c.focus_end);
    const int64_t S = c.past + c.T, W = c.focus_end - c.focus_begin;
    at::Tensor qkv = at::randn({c.T, (H + 2 * Hkv) * d}, opts) * 1.5;
    at::Tensor q = qkv.narrow(1, 0, H * d).view({c.T, H, d}).transpose(0, 1);
    at::Tensor k = at::randn({Hkv, S + 64, d}, opts).narrow(1, 0, S);
    REQUIRE(claa::cuda::subset_softmax_maxima_applies(q, k, c.sinks, c.focus_begin, c.focus_end));
    CHECK_FALSE(
        claa::cuda::subset_softmax_maxima_applies(q, k, c.sinks, c.focus_begin, c.past + 1));  // into the new keys
    at::Tensor got = claa::cuda::subset_softmax_maxima(q, k, c.sinks, c.focus_begin, c.focus_end).to(at::kDouble).cpu();

    at::Tensor kd = k.to(at::kCPU, at::kDouble);
    at::Tensor subset =
        at::cat({kd.narrow(1, 0, c.sinks), kd.narrow(1, c.focus_begin, W), kd.narrow(1, c.past, c.T)}, 1);
    const int64_t K = subset.size(1);
    at::Tensor scores =
        at::matmul(q.to(at::kCPU, at::kDouble), subset.repeat_interleave(G, 0).transpose(1, 2)) / std::sqrt(double(d));
    at::Tensor future = at::arange(c.T).unsqueeze(0) > at::arange(c.T).unsqueeze(1);  // [query, new key]
    scores.narrow(2, K - c.T, c.T).masked_fill_(future, -std::numeric_limits<double>::infinity());
    at::Tensor probs = at::softmax(scores, -1).narrow(2, c.sinks, W);  // [H, T, W]
    at::Tensor want = probs.reshape({Hkv, G, c.T, W}).amax({1, 2});
    REQUIRE(got.sizes() == want.sizes());
    const double error = ((got - want).abs() / (want.abs() * 2e-3 + 1e-4)).max().item<double>();
    WARN("KVzip subset maxima, T " << c.T << " after " << c.past << ": worst error " << error << " of the tolerance");
    CHECK(error <= 1.0);
  }
}

TEST_CASE("FlashAttention-3 declines the calls outside its case", "[model][kernels][cuda][flash]") {
  if (skip_without_flash_attention()) return;
  auto bf16 = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor q = at::randn({4, 100, 128}, bf16), k = at::randn({2, 100, 128}, bf16);
  CHECK(claa::cuda::flash_attention_applies(q, k, k));
  CHECK_FALSE(claa::cuda::flash_attention_applies(q.to(at::kHalf), k.to(at::kHalf), k.to(at::kHalf)));
  CHECK_FALSE(claa::cuda::flash_attention_applies(q.narrow(2, 0, 64), k.narrow(2, 0, 64), k.narrow(2, 0, 64)));
  CHECK_FALSE(claa::cuda::flash_attention_applies(q, k, k.narrow(2, 0, 64)));
  at::Tensor longer = at::randn({2, 101, 128}, bf16);  // keys beyond the queries: a past, taken
  CHECK(claa::cuda::flash_attention_applies(q, longer, longer));
  CHECK_FALSE(claa::cuda::flash_attention_applies(longer.repeat({2, 1, 1}), k, k));  // fewer keys than queries
  CHECK_FALSE(claa::cuda::flash_attention_applies(q, longer, k));                    // values: other rows
  CHECK_FALSE(claa::cuda::flash_attention_applies(q.cpu(), k.cpu(), k.cpu()));
  CHECK_FALSE(claa::cuda::flash_attention_applies(q, k, k.cpu()));
  CHECK_FALSE(claa::cuda::flash_attention_applies(q[0], k[0], k[0]));                         // not [heads, rows, d]
  CHECK_FALSE(claa::cuda::flash_attention_applies(q, k, at::randn({1, 100, 128}, bf16)));     // values: other heads
  CHECK_FALSE(claa::cuda::flash_attention_applies(q, k.narrow(0, 0, 0), k.narrow(0, 0, 0)));  // no KV head
  CHECK_FALSE(claa::cuda::flash_attention_applies(q.narrow(1, 0, 0), k.narrow(1, 0, 0), k.narrow(1, 0, 0)));
  at::Tensor rows = at::randn({100, 4 * 128 + 4}, bf16);  // row stride 516: not 16-byte steps
  at::Tensor misaligned = rows.narrow(1, 0, 4 * 128).view({100, 4, 128}).transpose(0, 1);
  CHECK_FALSE(claa::cuda::flash_attention_applies(misaligned, k, k));
  CHECK_THROWS(claa::cuda::flash_attention_causal(misaligned, k, k));
}

TEST_CASE("A bf16 prefill through FlashAttention-3 is as close to fp32 as through SDPA", "[model][cuda][flash]") {
  if (skip_without_flash_attention()) return;
  // A small Llama with head_dim 128 (the kernel's case) and random weights.
  claa::test::TempDir dir("flash_attention_model");
  const std::string config = (dir.path / "config.json").string();
  std::ofstream(config) << nlohmann::json{
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", 512},
      {"intermediate_size", 1024},
      {"num_hidden_layers", 3},
      {"num_attention_heads", 4},
      {"num_key_value_heads", 2},
      {"head_dim", 128},
      {"vocab_size", 1000},
      {"max_position_embeddings", 4096},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 500000.0},
      {"tie_word_embeddings",
       false}}.dump();
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 700; ++i) ids.push_back((i * 7919) % 1000);
  claa::GenerationOptions options;
  options.max_new_tokens = 1;
  auto first_logits = [&](at::ScalarType dtype, bool flash_attention) {
    claa::RuntimeOptions o;
    o.device = at::kCUDA;
    o.dtype = dtype;
    o.flash_attention = flash_attention;
    claa::LoadedModel m = claa::load_random_model(config, /*seed=*/3, o);
    return claa::generate(*m.model, ids, options).first_logits.to(at::kDouble);
  };
  const at::Tensor fp32 = first_logits(at::kFloat, false);
  const at::Tensor flash = first_logits(at::kBFloat16, true), sdpa = first_logits(at::kBFloat16, false);
  const double error_flash = (flash - fp32).abs().max().item<double>();
  const double error_sdpa = (sdpa - fp32).abs().max().item<double>();
  INFO("bf16 max |logit diff| from fp32: FlashAttention-3 "
       << error_flash << ", SDPA " << error_sdpa << " (logit scale " << fp32.abs().max().item<double>() << ")");
  CHECK_FALSE(at::equal(flash, sdpa));  // the two paths really differ: FA3 was taken
  CHECK(error_flash <= 1.5 * error_sdpa + 1e-3 * fp32.abs().max().item<double>());
}
