// Expected Attention's RoPE helpers (heuristics/expected_attention.cpp), exposed for their tests.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace claa {

// cos and sin of RoPE's angles position × inv_freq, [T, d/2] fp32 each.
struct RopeAngles {
  at::Tensor cos, sin;
};
RopeAngles rope_angles(const at::Tensor& positions, const at::Tensor& inv_freq, const at::Device& device);

// Undo RoPE (HF rotate_half layout): q [H, T, d] post-RoPE at `positions` [T] → pre-RoPE, fp32.
at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq);
// The same with the angles of its T positions made already.
at::Tensor unrotate_queries(const at::Tensor& q, const RopeAngles& angles);
// R̄: the RoPE rotation matrix averaged over positions [n, n + n_future), [d, d] (kvpress apply_avg_rope).
at::Tensor average_rope(int64_t n, int64_t n_future, const at::Tensor& inv_freq);
// The key of its capture statistic; the results are stored under KEY:mean, KEY:cov, KEY:value_norms.
std::string expected_attention_key(int64_t n_future);

}  // namespace claa
