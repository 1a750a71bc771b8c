// Fused causal attention for CPU fp32 prefill (FlashAttention-style): queries are processed in
// blocks of rows, keys in blocks of columns, with an online softmax, so no N×N matrix is ever
// stored and causally invisible key blocks are skipped. Threads split heads × query blocks; a
// decode step (one query per head) splits the keys instead and reads them in place (split-K).
//
// The two products per block come from OpenBLAS's sgemm when the process has it (blas_products) or
// from claa's own micro-kernels; the softmax and the micro-kernels have an AVX2+FMA path (chosen at
// run time when the CPU has it and head_dim is a multiple of 16) and a portable scalar one. Every
// combination is tested against plain LibTorch ops (tests/model/test_cpu_attention.cpp).
//
// Raw pointers and strides instead of tensors keep this header free of torch.
#pragma once

#include <cstdint>

namespace claa::cpu {

enum class Isa { Portable, Avx2Fma };

// The fastest path this CPU and this build support.
Isa best_isa();
const char* isa_name(Isa isa);

struct AttentionArgs {
  // Element (head, row, t) of each operand lives at base[head * head_stride + row * row_stride + t].
  const float* q = nullptr;  // [H, T, d] post-RoPE queries
  int64_t q_head_stride = 0, q_row_stride = 0;
  const float* k = nullptr;  // [H_kv, S, d] all keys, the T new ones last
  int64_t k_head_stride = 0, k_row_stride = 0;
  const float* v = nullptr;  // [H_kv, S, d]
  int64_t v_head_stride = 0, v_row_stride = 0;
  float* out = nullptr;  // [H, T, d]
  int64_t out_head_stride = 0, out_row_stride = 0;

  int64_t n_heads = 0, n_kv_heads = 0, n_queries = 0, n_keys = 0, head_dim = 0;
  // Query i sees keys [0, n_keys - n_queries + i] (causal over the cache index; S = past + T).
  float scale = 1.0f;  // usually 1/√d

  // Optional H2O column sums [H_kv, S] (row stride n_keys): adds Σ over the G query heads of the
  // group and all T queries of softmax(q·K·scale). Computed from the same pass: each worker keeps
  // its work item's probabilities (G·rows × S floats) until the rows' final max and sum are known.
  float* column_sums = nullptr;

  // Optional KVzip maxima [H_kv, S] (row stride n_keys): for each focus key j in [focus_begin,
  // focus_end), the largest probability any of the G·T queries of the group puts on it under a
  // softmax taken over a subset of the keys only: [0, subset_sinks) ∪ [focus_begin, focus_end) ∪ the
  // T new keys (heuristics/kvzip.cpp). Entries outside the focus are left alone. Same pass as the
  // column sums: the stored probabilities are renormalised over the subset once a row is complete.
  // Needs subset_sinks ≤ focus_begin ≤ focus_end ≤ S − T.
  float* subset_maxima = nullptr;
  int64_t subset_sinks = 0, focus_begin = 0, focus_end = 0;

  Isa isa = Isa::Portable;
  // Compute q·Kᵀ and P·V block by block with the process's OpenBLAS sgemm (cpu_blas.h) when it has
  // one, instead of claa's own micro-kernels: ~2× faster on dev-2c (docs/benchmarks.md). The
  // softmax stays claa's (`isa`). Ignored without OpenBLAS.
  bool blas_products = false;
};

// out = softmax(causal(q·kᵀ·scale))·v per head, query head h using KV head h / (H / H_kv) (GQA).
// Runs on ATen's intra-op thread pool.
void causal_attention(const AttentionArgs& args);

}  // namespace claa::cpu
