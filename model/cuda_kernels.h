// claa's fused CUDA kernels (model/cuda/fused_kernels.cu) on tensors: argument checks, the
// device guard and the current stream. The kernels are built only where CMake finds a CUDA
// LibTorch and nvcc (CLAA_CUDA_KERNELS); elsewhere kernels_built() is false and the transformer
// keeps the plain ATen ops, which also stay the reference in tests/model/test_cuda_kernels.cpp.
#pragma once

#include <ATen/ATen.h>

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
// It takes this call: built, a compute-capability 9.0 GPU, bf16, head_dim 128, as many keys as
// queries (no past, no mask: the caller checks those), each head vector contiguous and every
// stride a multiple of 8 elements. q [H, T, d], k and v [H_kv, T, d], any row and head strides.
bool flash_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);
// Causal softmax(q·kᵀ/√d)·v → [H, T, d], a view of a [T, H, d] tensor (so the output projection
// reads its rows without a copy).
at::Tensor flash_attention_causal(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

}  // namespace claa::cuda
