#include "model/sliding_window.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define CLAA_SLIDING_WINDOW_SDPA 1  // scaled_dot_product_attention with enable_gqa (LibTorch 2.5)
#endif

namespace claa {

namespace {

// Which of a band's keys each of its queries sees: queries begin..begin+c−1, keys first..first+n−1
// (absolute positions); true = visible.
at::Tensor band_mask(int64_t begin, int64_t c, int64_t first, int64_t n, int64_t window, const at::Device& device) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(device);
  const at::Tensor query = (at::arange(c, opts) + begin).unsqueeze(1), key = (at::arange(n, opts) + first).unsqueeze(0);
  return (key <= query).logical_and_(key > query - window);
}

// One band explicitly in fp32 (LibTorch without SDPA): q [H, c, d], k and v [H_kv, n, d].
at::Tensor band_attention_explicit(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                   const at::Tensor& visible) {
  const int64_t H = q.size(0), c = q.size(1), d = q.size(2), Hkv = k.size(0), G = H / Hkv, n = k.size(1);
  at::Tensor qg = q.to(at::kFloat).reshape({Hkv, G * c, d});
  at::Tensor scores = at::matmul(qg, k.to(at::kFloat).transpose(1, 2)).div_(std::sqrt(static_cast<double>(d)));
  scores = scores.view({Hkv, G, c, n}).masked_fill_(visible.logical_not(), -std::numeric_limits<float>::infinity());
  at::Tensor ctx = at::matmul(at::softmax(scores, -1).view({Hkv, G * c, n}), v.to(at::kFloat));
  return ctx.view({H, c, d}).to(q.scalar_type());
}

}  // namespace

at::Tensor sliding_window_prefill_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            int64_t window, int64_t block) {
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2);
  require(window >= 1 && block >= 1, "sliding-window attention needs a window and a block of at least 1");
  require(k.size(1) == T && v.size(1) == T && H % k.size(0) == 0,
          "sliding-window prefill attention: keys and values must match the queries");
  at::Tensor out = at::empty({H, T, d}, q.options());
  for (int64_t begin = 0; begin < T; begin += block) {
    const int64_t c = std::min(block, T - begin);
    const int64_t first = std::max<int64_t>(0, begin - window + 1);  // the earliest key its first query sees
    const int64_t n = begin + c - first;                             // through its last query's own key
    const at::Tensor visible = band_mask(begin, c, first, n, window, q.device());
    const at::Tensor qb = q.narrow(1, begin, c), kb = k.narrow(1, first, n), vb = v.narrow(1, first, n);
#ifdef CLAA_SLIDING_WINDOW_SDPA
    at::Tensor ob = at::scaled_dot_product_attention(qb.unsqueeze(0), kb.unsqueeze(0), vb.unsqueeze(0), visible, 0.0,
                                                     false, std::nullopt, /*enable_gqa=*/true)
                        .squeeze(0);
#else
    at::Tensor ob = band_attention_explicit(qb, kb, vb, visible);
#endif
    out.narrow(1, begin, c).copy_(ob);
  }
  return out;
}

int64_t sliding_window_block(int64_t window) { return std::max<int64_t>(window, 1024); }

}  // namespace claa
