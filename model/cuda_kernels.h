// claa's fused CUDA kernels (model/cuda/fused_kernels.cu) on tensors: argument checks, the
// device guard and the current stream. The kernels are built only where CMake finds a CUDA
// LibTorch and nvcc (CLAA_CUDA_KERNELS); elsewhere kernels_built() is false and the transformer
// keeps the plain ATen ops, which also stay the reference in tests/model/test_cuda_kernels.cpp.
#pragma once

#include <ATen/ATen.h>

#include <utility>

namespace claa::cuda {

// True when this build carries the kernels.
bool kernels_built();
// The kernels take this tensor: built, on a CUDA device, fp32 / bf16 / fp16.
bool supports(const at::Tensor& x);

// HF LlamaRMSNorm of each row of x [T, D] (rows contiguous) → a new [T, D] tensor.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
// HF rotate_half RoPE in place on the first `heads` head vectors of each row of x [T, ≥ heads·d]
// (the fused q|k|v projection: query and key heads), positions [T] int64, inv_freq [d/2] fp32.
void rope_in_place(at::Tensor& x, int64_t heads, int64_t head_dim, const at::Tensor& positions,
                   const at::Tensor& inv_freq);
// SwiGLU of the fused gate|up projection gate_up [T, 2F] → silu(gate) · up, [T, F].
at::Tensor silu_mul(const at::Tensor& gate_up);

// FlashAttention-3's Hopper kernel for a causal prefill (model/cuda/flash_attention_hopper.h),
// in builds configured with a flash-attention checkout (CLAA_FLASH_ATTENTION): true when it is built.
bool flash_attention_built();
// It takes this call: built, a compute-capability 9.0 GPU, bf16, head_dim 128, at least as many keys
// as queries, each head vector contiguous and every stride a multiple of 8 elements. q [H, T, d], k and
// v [H_kv, S, d] with S ≥ T, any row and head strides. The queries are the last T of the S positions
// (a prefill without past when S = T; new tokens after a cache of S − T otherwise) and no other mask
// applies: the caller checks those.
bool flash_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// Causal softmax(q·kᵀ/√d)·v → [H, T, d], a view of a [T, H, d] tensor (so the output projection
// reads its rows without a copy). Causal as FlashAttention aligns it, bottom-right: query i sees keys
// 0 … i + S − T.
at::Tensor flash_attention_causal(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// The same and each query's log-sum-exp [H, T] fp32 (natural log), which the kernel computes anyway.
std::pair<at::Tensor, at::Tensor> flash_attention_causal_with_lse(const at::Tensor& q, const at::Tensor& k,
                                                                  const at::Tensor& v);

// H2O's accumulated attention without an N×N matrix (model/cuda/column_sums.cu): a causal prefill's
// attention output and its softmax column sums, Σ over the G query heads of each KV group and every
// query, from flash attention's per-query log-sum-exp and a second pass over the keys. Applies to
// bf16 / fp16 on a GPU with the kernels built and LibTorch 2.x, head_dim a multiple of 16 up to 256, as
// many keys as queries (no past, no mask: the caller checks those), head vectors contiguous and
// strides in steps of 8 elements. q [H, T, d], k and v [H_kv, T, d].
bool column_sums_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// → {output [H, T, d], column sums [H_kv, T] fp32}. The output comes from FlashAttention-3 when
// `flash_attention_3` allows it and the call fits it (RuntimeOptions::flash_attention), else from
// LibTorch's flash kernel.
std::pair<at::Tensor, at::Tensor> causal_attention_with_column_sums(const at::Tensor& q, const at::Tensor& k,
                                                                    const at::Tensor& v, bool flash_attention_3);
// The column pass alone, given each query's log-sum-exp lse [H, T] fp32 (natural log of Σ_j
// exp(q·k_j/√d) over the keys it sees): for tests and for callers that have the output already.
at::Tensor softmax_column_sums(const at::Tensor& q, const at::Tensor& k, const at::Tensor& lse);

// KVzip's reconstruction scores without the explicit softmax (column_sums.cu, the max walk): for
// queries q [H, T, d] that are the last T of keys [H_kv, S, d] (new tokens after a cache), the
// maximum over the G query heads of each KV group and the T queries of the softmax over the key
// subset {0 … sinks−1} ∪ {focus_begin … focus_end−1} ∪ {the T new keys, causal}, at the focus keys
// → [H_kv, focus_end − focus_begin] fp32 (kvpress kvzip_press.py score_kvzip; the scores scaled by
// 1/√d). The subset's log-sum-exp comes from FlashAttention-3 over the gathered subset, so this
// applies where flash_attention_applies does (bf16, head_dim 128, compute capability 9.0) and the
// subset lies, in order, before the new keys.
bool subset_softmax_maxima_applies(const at::Tensor& q, const at::Tensor& keys, int64_t sinks, int64_t focus_begin,
                                   int64_t focus_end);
at::Tensor subset_softmax_maxima(const at::Tensor& q, const at::Tensor& keys, int64_t sinks, int64_t focus_begin,
                                 int64_t focus_end);
// The max walk alone, given each query's log-sum-exp lse [H, T] over its softmax's keys: maxima
// [H_kv, W] of exp(q·k/√d − lse) for keys [H_kv, W, d] that every query sees (for tests).
at::Tensor softmax_column_maxima(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& lse);

}  // namespace claa::cuda
