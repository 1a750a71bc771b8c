// Expected Attention's RoPE helpers (heuristics/expected_attention.cpp), exposed for their tests.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace claa {

// Undo RoPE (HF rotate_half layout): q [H, T, d] post-RoPE at `positions` [T] → pre-RoPE, fp32.
at::Tensor unrotate_queries(const at::Tensor& q, const at::Tensor& positions, const at::Tensor& inv_freq);
// R̄: the RoPE rotation matrix averaged over positions [n, n + n_future), [d, d] (kvpress apply_avg_rope).
at::Tensor average_rope(int64_t n, int64_t n_future, const at::Tensor& inv_freq);
// The key of its capture statistic; the results are stored under KEY:mean, KEY:cov, KEY:value_norms.
std::string expected_attention_key(int64_t n_future);

}  // namespace claa
