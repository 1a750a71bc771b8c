// Causal prefill attention through FlashAttention-3's Hopper kernel (Dao-AILab/flash-attention,
// hopper/: warp-specialised wgmma + TMA), for the GPU builds that CMake points at a
// flash-attention checkout (CLAA_FLASH_ATTENTION_DIR, CLAA_CUTLASS_DIR; see README "GPU build").
// Torch-free like fused_kernels.h: model/cuda_kernels.cpp checks the tensors and passes
// raw pointers. Why it exists: it runs long causal attention faster than cuDNN's fused kernel
// (LibTorch's fastest on Hopper; docs/benchmarks.md, "GPU prefill"), and attention is most of a
// 128K prefill.
#pragma once

#include <cstdint>

namespace claa::cuda::launch {

// Where each operand's rows and heads sit: element strides; within a head vector the head_dim
// elements are contiguous. Strides and the base addresses must be multiples of 16 bytes (TMA).
struct FlashAttentionOperand {
  const void* data;
  int64_t row_stride;
  int64_t head_stride;
};

// softmax(q·kᵀ · scale, causal) · v for one sequence of `q_tokens` queries over `k_tokens` ≥ q_tokens
// keys, the queries being the last q_tokens positions (FlashAttention's bottom-right causal mask:
// query i sees keys 0 … i + k_tokens − q_tokens; equal counts = a prefill without past, more keys = new
// tokens after a cache), no other mask, bf16, head_dim 128, query heads sharing KV heads in groups of
// heads_q / heads_kv. `out` takes [q_tokens, heads_q, 128] with the given strides; `lse` [heads_q,
// q_tokens] fp32 (the log-sum-exp the kernel writes); `scheduler` 16 ints of device scratch for the
// persistent scheduler. Queues the kernel on `stream`; returns nullptr or the CUDA error text.
const char* flash_attention_causal_bf16_d128(FlashAttentionOperand q, FlashAttentionOperand k, FlashAttentionOperand v,
                                             void* out, int64_t out_row_stride, int64_t out_head_stride, float* lse,
                                             int* scheduler, int q_tokens, int k_tokens, int heads_q, int heads_kv,
                                             float scale, int num_sms, void* stream);

}  // namespace claa::cuda::launch
