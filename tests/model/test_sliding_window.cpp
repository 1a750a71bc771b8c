// Sliding-window prefill attention in bands (model/sliding_window.h) against the definition written
// here: one T × T fp32 softmax with query i seeing keys i − window < j ≤ i, each query head reading
// KV head h / G. Every block size (1 row, smaller than the window, larger than the prompt) must give
// the same attention; on LibTorch ≥ 2.5 the bands go through SDPA, on 1.13 explicitly.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "model/sliding_window.h"
#include "tests/catch.h"

namespace {

at::Tensor reference_window_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t window) {
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), G = H / k.size(0);
  at::Tensor qf = q.to(at::kFloat), kf = k.to(at::kFloat).repeat_interleave(G, 0),
             vf = v.to(at::kFloat).repeat_interleave(G, 0);
  at::Tensor scores = at::matmul(qf, kf.transpose(1, 2)) / std::sqrt(static_cast<double>(d));
  at::Tensor i = at::arange(T).unsqueeze(1), j = at::arange(T).unsqueeze(0);
  at::Tensor hidden = (j > i).logical_or(j <= i - window).to(q.device());
  return at::matmul(scores.masked_fill(hidden, -std::numeric_limits<float>::infinity()).softmax(-1), vf);
}

double max_error(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("sliding-window prefill attention in bands equals one masked softmax for every block size",
          "[model][sliding_window]") {
  at::manual_seed(5);
  const int64_t H = 6, Hkv = 2, d = 16;
  for (int64_t T : {1, 7, 50}) {
    const at::Tensor q = at::randn({H, T, d}), k = at::randn({Hkv, T, d}), v = at::randn({Hkv, T, d});
    for (int64_t window : {1, 3, 16, 50, 80}) {
      const at::Tensor want = reference_window_attention(q, k, v, window);
      for (int64_t block : {1, 5, 16, 64}) {
        INFO(T << " tokens, window " << window << ", block " << block);
        const at::Tensor got = claa::sliding_window_prefill_attention(q, k, v, window, block);
        REQUIRE(got.sizes() == q.sizes());
        CHECK(max_error(got, want) <= 1e-5);
      }
    }
  }
  CHECK(claa::sliding_window_block(1024) == 1024);
  CHECK(claa::sliding_window_block(4096) == 4096);
  CHECK(claa::sliding_window_block(16) == 1024);
}

TEST_CASE("sliding-window prefill attention in bf16 on the GPU stays within bf16 rounding of fp32",
          "[model][sliding_window][cuda]") {
  if (!at::hasCUDA()) {
    WARN("no CUDA device: the GPU bands are not tested here");
    return;
  }
  at::manual_seed(6);
  auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  // Gemma 3's shape: head_dim 256, 2 query heads per KV head; a window of 1024 over 3000 tokens.
  const int64_t H = 4, Hkv = 2, d = 256, T = 3000, window = 1024;
  const at::Tensor q = at::randn({H, T, d}, opts), k = at::randn({Hkv, T, d}, opts), v = at::randn({Hkv, T, d}, opts);
  const at::Tensor want = reference_window_attention(q, k, v, window);
  const at::Tensor got = claa::sliding_window_prefill_attention(q, k, v, window, claa::sliding_window_block(window));
  // As the FlashAttention-3 test: bf16 probabilities and output, max |error| ≤ 2⁻⁶, mean ≤ 1e-3.
  const at::Tensor error = (got.to(at::kFloat) - want).abs();
  INFO("max |error| " << error.max().item<double>() << ", mean " << error.mean().item<double>());
  CHECK(error.max().item<double>() <= 1.0 / 64);
  CHECK(error.mean().item<double>() <= 1e-3);
}
