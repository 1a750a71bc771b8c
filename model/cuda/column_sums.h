// Launchers of the column kernels (column_sums.cu): H2O's sums, KVzip's maxima. Torch-free, as fused_kernels.h.
#pragma once

#include <cstdint>

namespace claa::cuda::launch {

// sums[g][j] = Σ over the query heads h of KV group g and every query i ≥ j of
// exp(scale · q[h][i]·k[g][j] − lse[h][i]): the column sums of a causal softmax over n queries and n
// keys, given each query's log-sum-exp of its scaled scores (natural log). q [H, n, d] and k [H_kv, n, d]
// bf16 (or fp16), each row's d elements contiguous, every stride a multiple of 8 elements; lse fp32
// [H, n] with head stride lse_head_stride; sums fp32 [H_kv, n], every entry written. Queues one kernel
// on `stream`; returns nullptr or the CUDA error text.
const char* softmax_column_sums(bool bf16, const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k,
                                int64_t k_head_stride, int64_t k_row_stride, const float* lse, int64_t lse_head_stride,
                                float* sums, int heads, int kv_heads, int n, int head_dim, float scale, void* stream);

// maxima[g][j] = max over the query heads h of KV group g and every query i of
// exp(scale · q[h][i]·k[g][j] − lse[h][i]), for keys every query sees (no mask): KVzip's per-key maxima
// of a softmax whose log-sum-exp lse the caller computed over its own set of keys (which includes
// these). q [H, n_queries, d], k [H_kv, n_keys, d], lse [H, n_queries], maxima [H_kv, n_keys]; the
// same layouts, dtypes and stream as softmax_column_sums.
const char* softmax_column_maxima(bool bf16, const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k,
                                  int64_t k_head_stride, int64_t k_row_stride, const float* lse,
                                  int64_t lse_head_stride, float* maxima, int heads, int kv_heads, int n_queries,
                                  int n_keys, int head_dim, float scale, void* stream);

}  // namespace claa::cuda::launch
