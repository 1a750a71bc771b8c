// claa's fused CUDA kernels (model/cuda_kernels.h) against the unfused LibTorch ops that
// HF transformers runs (LlamaRMSNorm, apply_rotary_pos_emb with rotate_half, act_fn(gate) * up),
// written here from HF's modeling_llama.py, on the GPU, in fp32, bf16 and fp16; and whole models
// through the fused layers against HF's fp32 logits. Skipped without a CUDA device or without the
// kernels in the build.
//
// Tolerance (kernels): in the 16-bit types at least 99% of the elements bit-identical and every
// element within 2·|want|·2⁻⁷ (bf16; 2⁻¹⁰ fp16), i.e. two to four units in the last place depending
// on where the value sits between two powers of two; fp32 within 2e-6 relative (+1e-6 absolute). The kernels round
// after each step exactly as HF's separate ops do, so only the fp32 order of one sum (RMSNorm's mean of squares) and
// the libm of exp/cos/sin may differ; a one-ulp difference in RMSNorm's rounded intermediate can become two after the
// weight's multiply and rounding (seen on a GPU: 1.49 fp16 ulps in 3 of 100,000 elements).
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/cuda_kernels.h"
#include "model/generate.h"
#include "model/model_loader.h"
#include "selection/selection.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

bool skip_without_kernels() {
  if (!at::hasCUDA()) {
    WARN("no CUDA device: claa's CUDA kernels are not tested here");
    return true;
  }
  if (!claa::cuda::kernels_built()) {
    WARN("this build has no CUDA kernels (CLAA_CUDA_KERNELS off or no nvcc)");
    return true;
  }
  return false;
}

double relative_ulp(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return 1.0 / 128;
    case at::kHalf: return 1.0 / 1024;
    default: return 2e-6;
  }
}

// Checks got against want (same dtype) with the tolerance above.
void check_close(const at::Tensor& got, const at::Tensor& want) {
  REQUIRE(got.sizes() == want.sizes());
  at::Tensor g = got.to(at::kCPU, at::kDouble), w = want.to(at::kCPU, at::kDouble);
  at::Tensor diff = (g - w).abs();
  const double ulp = relative_ulp(want.scalar_type());
  const double worst = (diff / (w.abs() * ulp + 1e-6)).max().item<double>();
  const double identical = (diff == 0).to(at::kDouble).mean().item<double>();
  INFO("dtype " << at::toString(want.scalar_type()) << ": worst difference " << worst << " ulp, " << identical * 100
                << "% identical");
  if (want.scalar_type() == at::kFloat) {
    CHECK(worst <= 1.0);
  } else {
    CHECK(worst <= 2.0);
    CHECK(identical >= 0.99);
  }
}

const at::ScalarType kDtypes[] = {at::kFloat, at::kBFloat16, at::kHalf};

}  // namespace

TEST_CASE("CUDA RMSNorm kernel matches HF LlamaRMSNorm", "[model][kernels][cuda]") {
  if (skip_without_kernels()) return;
  at::manual_seed(5);
  for (at::ScalarType t : kDtypes) {
    // 4096 and 576 take the 16-byte path; 37 and 4097 (odd, with odd strides) the element-wise one,
    // 4097 with more elements than threads.
    for (int64_t cols : {4096, 576, 37, 4097}) {
      for (int64_t rows : {1, 3, 1000}) {
        INFO(rows << " x " << cols);
        auto opts = at::TensorOptions().device(at::kCUDA).dtype(t);
        at::Tensor x = (at::randn({rows, cols + (cols % 2 ? 5 : 8)}, opts) * 3).narrow(1, 0, cols);
        at::Tensor w = at::randn({cols}, opts);
        at::Tensor xf = x.to(at::kFloat);
        at::Tensor want = w * (xf * at::rsqrt(xf.pow(2).mean(-1, true) + 1e-5)).to(t);
        check_close(claa::cuda::rms_norm(x, w, 1e-5), want);
      }
    }
  }
}

TEST_CASE("CUDA RoPE kernel matches HF rotate_half on queries and keys", "[model][kernels][cuda]") {
  if (skip_without_kernels()) return;
  at::manual_seed(6);
  for (at::ScalarType t : kDtypes) {
    for (int64_t d : {64, 128}) {
      const int64_t H = 6, Hkv = 2, T = 300;
      INFO("head_dim " << d);
      auto opts = at::TensorOptions().device(at::kCUDA).dtype(t);
      at::Tensor qkv = at::randn({T, (H + 2 * Hkv) * d}, opts);
      // Original positions after pruning: increasing, with gaps, up to 128K (large angles).
      at::Tensor positions =
          std::get<0>(at::randperm(131072, at::TensorOptions().dtype(at::kLong)).narrow(0, 0, T).sort()).to(at::kCUDA);
      at::Tensor inv_freq =
          (1.0 / at::pow(500000.0, at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d))).to(at::kCUDA);
      // HF: freqs = inv_freq @ positions (fp32), emb = cat(freqs, freqs), cos/sin cast to the dtype.
      at::Tensor freqs = positions.to(at::kFloat).unsqueeze(1) * inv_freq.unsqueeze(0);
      at::Tensor emb = at::cat({freqs, freqs}, -1);
      at::Tensor cos = emb.cos().to(t), sin = emb.sin().to(t);
      at::Tensor want = qkv.clone();
      for (int64_t h = 0; h < H + Hkv; ++h) {
        at::Tensor x = qkv.narrow(1, h * d, d);
        at::Tensor rotated = at::cat({-x.narrow(1, d / 2, d / 2), x.narrow(1, 0, d / 2)}, -1);
        want.narrow(1, h * d, d).copy_(x * cos + rotated * sin);
      }
      at::Tensor got = qkv.clone();
      claa::cuda::rope_in_place(got, H + Hkv, d, positions, inv_freq);
      check_close(got, want);
      // The value heads are not touched.
      CHECK(at::equal(got.narrow(1, (H + Hkv) * d, Hkv * d), qkv.narrow(1, (H + Hkv) * d, Hkv * d)));
    }
  }
}

TEST_CASE("CUDA SiLU-up kernel matches HF act_fn(gate) * up", "[model][kernels][cuda]") {
  if (skip_without_kernels()) return;
  at::manual_seed(7);
  for (at::ScalarType t : kDtypes) {
    for (int64_t ffn : {1536, 37}) {
      for (int64_t rows : {1, 257}) {
        INFO(rows << " x " << ffn);
        auto opts = at::TensorOptions().device(at::kCUDA).dtype(t);
        at::Tensor gate_up = at::randn({rows, 2 * ffn}, opts) * 4;
        at::Tensor want = at::silu(gate_up.narrow(1, 0, ffn)) * gate_up.narrow(1, ffn, ffn);
        check_close(claa::cuda::silu_mul(gate_up), want);
      }
    }
  }
}

TEST_CASE("CUDA column-sum kernel matches the explicit softmax's H2O column sums", "[model][kernels][cuda][h2o]") {
  // Reference: the probabilities written out in fp64 from the same 16-bit inputs (softmax of the causal
  // scaled scores, query head h under KV head h / G), summed over each group's heads and all queries.
  // The kernel's scores are fp32 tensor-core sums and its exp exp2f against flash attention's fp32
  // log-sum-exp: relative error ≤ 2e-3 (+1e-4 absolute) on every column sum. Head dims 64 / 128 / 256 are
  // the kernel's tilings; 96 rides the 128 one zero-padded; token counts not multiples of the tiles.
  if (skip_without_kernels()) return;
  struct Shape {
    int64_t heads, kv_heads, tokens, head_dim;
  };
  for (const Shape& c : {Shape{9, 3, 300, 64}, Shape{32, 8, 1000, 128}, Shape{4, 4, 70, 256}, Shape{8, 2, 515, 96}}) {
    for (at::ScalarType dtype : {at::kBFloat16, at::kHalf}) {
      INFO("H " << c.heads << " H_kv " << c.kv_heads << " T " << c.tokens << " d " << c.head_dim << " "
                << at::toString(dtype));
      at::manual_seed(21);
      const auto opts = at::TensorOptions().dtype(dtype).device(at::kCUDA);
      // As the model passes them: q a strided view of the fused q|k|v rows, keys from a cache with spare rows.
      const int64_t H = c.heads, Hkv = c.kv_heads, T = c.tokens, d = c.head_dim, G = H / Hkv;
      at::Tensor qkv = at::randn({T, (H + 2 * Hkv) * d}, opts) * 1.5;
      at::Tensor q = qkv.narrow(1, 0, H * d).view({T, H, d}).transpose(0, 1);
      at::Tensor k = at::randn({Hkv, T + 5, d}, opts).narrow(1, 0, T),
                 v = at::randn({Hkv, T + 5, d}, opts).narrow(1, 0, T);
      if (!claa::cuda::column_sums_applies(q, k, v)) {
        WARN("the column-sum kernel does not apply here (LibTorch 1.x?)");
        return;
      }
      auto [out, sums] = claa::cuda::causal_attention_with_column_sums(q, k, v, /*flash_attention_3=*/true);

      at::Tensor qd = q.to(at::kCPU, at::kDouble), kd = k.to(at::kCPU, at::kDouble).repeat_interleave(G, 0);
      at::Tensor scores = at::matmul(qd, kd.transpose(1, 2)) / std::sqrt(double(d));
      scores.masked_fill_(at::arange(T).unsqueeze(0) > at::arange(T).unsqueeze(1),
                          -std::numeric_limits<double>::infinity());
      at::Tensor probs = at::softmax(scores, -1);
      at::Tensor want = probs.view({Hkv, G, T, T}).sum({1, 2});
      at::Tensor got = sums.to(at::kCPU, at::kDouble);
      const double error = ((got - want).abs() / (want.abs() * 2e-3 + 1e-4)).max().item<double>();
      WARN("H2O column sums, H " << H << " T " << T << " d " << d << " " << at::toString(dtype) << ": worst error "
                                 << error << " of the tolerance");
      CHECK(error <= 1.0);
      // The output is attention's: within bf16/fp16 rounding of the fp64 one.
      at::Tensor want_out = at::matmul(probs, v.to(at::kCPU, at::kDouble).repeat_interleave(G, 0));
      CHECK((out.to(at::kCPU, at::kDouble) - want_out).abs().max().item<double>() <= 2e-2);
    }
  }
}

TEST_CASE("CUDA column-max kernel matches the explicit softmax's KVzip maxima", "[model][kernels][cuda][kvzip]") {
  // KVzip's per-key score (kvpress kvzip_press.py score_kvzip): the max over each group's query heads and
  // every query of the softmax probability at the key. Reference: the probabilities written out in fp64
  // from the same 16-bit inputs, normalised over the keys plus `extra` keys every query also sees (the
  // rest of a subset softmax), the log-sum-exp handed to the kernel computed here in fp64. Same
  // tolerance as the column sums: relative 2e-3 + 1e-4 absolute on every maximum.
  if (skip_without_kernels()) return;
  struct Shape {
    int64_t heads, kv_heads, queries, keys, extra, head_dim;
  };
  for (const Shape& c : {Shape{9, 3, 300, 700, 40, 64}, Shape{32, 8, 130, 1000, 300, 128}, Shape{4, 4, 70, 200, 0, 256},
                         Shape{8, 2, 515, 333, 17, 96}}) {
    for (at::ScalarType dtype : {at::kBFloat16, at::kHalf}) {
      INFO("H " << c.heads << " H_kv " << c.kv_heads << " T " << c.queries << " W " << c.keys << " d " << c.head_dim
                << " " << at::toString(dtype));
      at::manual_seed(23);
      const auto opts = at::TensorOptions().dtype(dtype).device(at::kCUDA);
      const int64_t H = c.heads, Hkv = c.kv_heads, T = c.queries, W = c.keys, d = c.head_dim, G = H / Hkv;
      at::Tensor qkv = at::randn({T, (H + 2 * Hkv) * d}, opts) * 1.5;
      at::Tensor q = qkv.narrow(1, 0, H * d).view({T, H, d}).transpose(0, 1);
      at::Tensor all_keys = at::randn({Hkv, W + c.extra + 5, d}, opts);
      at::Tensor keys = all_keys.narrow(1, 0, W), seen = all_keys.narrow(1, 0, W + c.extra);

      at::Tensor qd = q.to(at::kCPU, at::kDouble);
      at::Tensor scores = at::matmul(qd, seen.to(at::kCPU, at::kDouble).repeat_interleave(G, 0).transpose(1, 2)) /
                          std::sqrt(double(d));    // [H, T, W + extra]
      at::Tensor lse = at::logsumexp(scores, -1);  // [H, T]
      at::Tensor probs = at::exp(scores.narrow(2, 0, W) - lse.unsqueeze(-1));
      at::Tensor want = probs.view({Hkv, G, T, W}).amax({1, 2});

      const at::Tensor probe = at::zeros({Hkv, T, d}, opts);  // the column kernels' case, as the sums test meets it
      if (!claa::cuda::column_sums_applies(q, probe, probe)) {
        WARN("the column kernels do not apply here (LibTorch 1.x?)");
        return;
      }
      at::Tensor got =
          claa::cuda::softmax_column_maxima(q, keys, lse.to(at::kFloat).to(at::kCUDA)).to(at::kDouble).cpu();
      REQUIRE(got.sizes() == want.sizes());
      const double error = ((got - want).abs() / (want.abs() * 2e-3 + 1e-4)).max().item<double>();
      WARN("KVzip maxima, H " << H << " T " << T << " W " << W << " d " << d << " " << at::toString(dtype)
                              << ": worst error " << error << " of the tolerance");
      CHECK(error <= 1.0);
    }
  }
}

TEST_CASE("CUDA kernels reject tensors they cannot index", "[model][kernels][cuda]") {
  if (skip_without_kernels()) return;
  auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor x = at::randn({4, 64}, opts);
  CHECK_THROWS_AS(claa::cuda::rms_norm(x.t(), at::ones({4}, opts), 1e-5), claa::Error);  // rows not contiguous
  CHECK_THROWS_AS(claa::cuda::rms_norm(x, at::ones({63}, opts), 1e-5), claa::Error);
  at::Tensor inv = at::ones({32}, at::TensorOptions().device(at::kCUDA));
  CHECK_THROWS_AS(claa::cuda::rope_in_place(x, 1, 64, at::zeros({4}, at::TensorOptions().device(at::kCUDA)), inv),
                  claa::Error);  // float positions
  CHECK_THROWS_AS(claa::cuda::silu_mul(at::randn({4, 63}, opts)), claa::Error);
}

TEST_CASE("Per-head decode-cache selection on the GPU equals the CPU one", "[pipelines][cuda]") {
  // keep_window_plus_top_per_row's segmented stable sort, ties included, on both devices.
  if (!at::hasCUDA()) {
    WARN("no CUDA device: the GPU selection is not tested here");
    return;
  }
  at::manual_seed(8);
  at::Tensor rows = at::randint(0, 5, {8, 3000}).to(at::kFloat);  // many ties
  at::Tensor cpu = claa::keep_window_plus_top_per_row(rows, 3008, 300, 8);
  at::Tensor gpu = claa::keep_window_plus_top_per_row(rows.to(at::kCUDA), 3008, 300, 8);
  CHECK(at::equal(cpu, gpu.to(at::kCPU)));
}

TEST_CASE("Fused CUDA layers match HF transformers on the tiny HF models", "[model][kernels][cuda][hf]") {
  if (skip_without_kernels()) return;
  const nlohmann::json ref = tiny_model_reference();
  for (const char* kind : {"llama3", "qwen2", "mistral", "qwen3", "phi3", "gemma2", "gemma3"}) {
    INFO("model " << kind);
    const nlohmann::json& e = ref[kind];
    std::vector<int64_t> ids = e["input_ids"].get<std::vector<int64_t>>();
    at::Tensor want = at::tensor(e["last_logits"].get<std::vector<double>>(), at::kDouble);
    claa::GenerationOptions options;
    options.max_new_tokens = 1;
    // fp32 on the GPU: the HF fp32 reference within 1e-3. bf16: the fused layers' error against
    // that reference at most 1.5× (+0.01) the plain ATen layers' error, the same ops unfused.
    double error_fused_bf16 = 0, error_aten_bf16 = 0;
    for (at::ScalarType t : {at::kFloat, at::kBFloat16}) {
      for (bool fused : {true, false}) {
        claa::RuntimeOptions o;
        o.device = at::kCUDA;
        o.dtype = t;
        o.fused_gpu_kernels = fused;
        o.mlp_chunk_rows = 3;  // several MLP chunks even for a short prompt
        claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/") + kind, o);
        claa::GenerationResult r = claa::generate(*m.model, ids, options);
        const double error = (r.first_logits.to(at::kCPU, at::kDouble) - want).abs().max().item<double>();
        INFO(at::toString(t) << (fused ? " fused" : " aten") << ": max |logit diff| = " << error);
        if (t == at::kFloat) CHECK(error <= 1e-3);
        else (fused ? error_fused_bf16 : error_aten_bf16) = error;
      }
    }
    INFO("bf16 max |logit diff|: fused " << error_fused_bf16 << ", aten " << error_aten_bf16);
    CHECK(error_fused_bf16 <= 1.5 * error_aten_bf16 + 0.01);
  }
}
