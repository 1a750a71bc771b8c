// Launchers of claa's fused CUDA kernels for the element-wise parts of a decoder layer
// (fused_kernels.cu). Torch-free on purpose: nvcc compiles the kernels without LibTorch's headers,
// and model/cuda_kernels.cpp checks the tensors and passes raw pointers and the stream.
//
// Each launcher queues one kernel on `stream` (a cudaStream_t) and returns nullptr, or the CUDA
// error text when the launch failed. Rows are `stride` elements apart; within a row the elements
// are contiguous.
#pragma once

#include <cstdint>

namespace claa::cuda::launch {

enum class DType { f32, bf16, f16 };

// HF LlamaRMSNorm, rounding as HF does in 16-bit dtypes: out = T(w · T(x · 1/√(mean(x²) + eps))),
// the mean of squares in fp32.
const char* rms_norm(DType t, const void* x, int64_t x_stride, const void* weight, void* out, int64_t out_stride,
                     int64_t rows, int64_t cols, float eps, void* stream);

// HF rotate_half RoPE in place on the first `heads` head vectors (head_dim each) of every row of
// `x` (claa's fused q|k|v rows: the query and key heads): angle = position[row] · inv_freq[i] in
// fp32, cos/sin rounded to T as HF's tables are, then T(T(x1·cos) + T(−x2·sin)) and
// T(T(x2·cos) + T(x1·sin)) (each product and the sum rounded, as HF's separate ops do).
const char* rope(DType t, void* x, int64_t x_stride, int64_t rows, int64_t heads, int64_t head_dim,
                 const int64_t* positions, const float* inv_freq, void* stream);

// SwiGLU: out[r][j] = T(T(silu(g)) · u) with g = gate_up[r][j], u = gate_up[r][ffn + j] (HF's
// act_fn(gate) * up, each op rounded), silu(g) = g / (1 + e^−g) in fp32.
const char* silu_mul(DType t, const void* gate_up, int64_t gate_up_stride, int64_t rows, int64_t ffn, void* out,
                     int64_t out_stride, void* stream);

}  // namespace claa::cuda::launch
