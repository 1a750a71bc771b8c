// claa's fused CUDA kernels: RMSNorm, RoPE on queries and keys, SwiGLU's SiLU·up.
// Each replaces 3–8 ATen element-wise kernels (one pass over memory each, plus fp32 temporaries)
// by one pass; all are memory-bound, so the work is one read and one write per element with
// 16-byte loads where the rows allow (docs/benchmarks.md, "GPU profile"). The rounding follows HF
// transformers' separate bf16/fp16 ops step by step (fused_kernels.h), so results equal the
// unfused path up to the order of one fp32 sum (tests/model/test_cuda_kernels.cpp).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "model/cuda/fused_kernels.h"

namespace claa::cuda::launch {

namespace {

// Element type ↔ fp32, with the round-to-nearest-even of the 16-bit types.
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
template <typename T>
__device__ __forceinline__ T from_f(float x);
template <>
__device__ __forceinline__ float from_f<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half from_f<__half>(float x) {
  return __float2half_rn(x);
}
// Rounded to T and back: one HF op's output in T, as the next op reads it.
template <typename T>
__device__ __forceinline__ float round_to(float x) {
  return to_f(from_f<T>(x));
}

// 16 bytes of T: the widest plain load a thread can issue.
template <typename T>
struct alignas(16) Pack {
  static constexpr int n = 16 / sizeof(T);
  T v[n];
};

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// Sum over the block (blockDim.x a multiple of 32, at most 1024).
__device__ float block_sum(float v) {
  __shared__ float warp_sums[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? warp_sums[lane] : 0.f;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __shared__ float total;
  if (threadIdx.x == 0) total = v;
  __syncthreads();
  return total;
}

// One block per row. The second pass re-reads the row from L1/L2 (a 4096-wide bf16 row is 8 KiB).
template <typename T, bool kPacked>
__global__ void __launch_bounds__(1024)
    rms_norm_kernel(const T* __restrict__ x, int64_t x_stride, const T* __restrict__ w, T* __restrict__ out,
                    int64_t out_stride, int64_t cols, float eps) {
  const T* row = x + blockIdx.x * x_stride;
  T* dst = out + blockIdx.x * out_stride;
  float squares = 0.f;
  if constexpr (kPacked) {
    constexpr int n = Pack<T>::n;
    const Pack<T>* src = reinterpret_cast<const Pack<T>*>(row);
    for (int64_t p = threadIdx.x; p < cols / n; p += blockDim.x) {
      const Pack<T> a = src[p];
#pragma unroll
      for (int i = 0; i < n; ++i) squares += to_f(a.v[i]) * to_f(a.v[i]);
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) squares += to_f(row[c]) * to_f(row[c]);
  }
  const float inv_rms = rsqrtf(block_sum(squares) / static_cast<float>(cols) + eps);
  if constexpr (kPacked) {
    constexpr int n = Pack<T>::n;
    const Pack<T>* src = reinterpret_cast<const Pack<T>*>(row);
    const Pack<T>* wp = reinterpret_cast<const Pack<T>*>(w);
    Pack<T>* o = reinterpret_cast<Pack<T>*>(dst);
    for (int64_t p = threadIdx.x; p < cols / n; p += blockDim.x) {
      const Pack<T> a = src[p], b = wp[p];
      Pack<T> r;
#pragma unroll
      for (int i = 0; i < n; ++i) r.v[i] = from_f<T>(to_f(b.v[i]) * round_to<T>(to_f(a.v[i]) * inv_rms));
      o[p] = r;
    }
  } else {
    for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
      dst[c] = from_f<T>(to_f(w[c]) * round_to<T>(to_f(row[c]) * inv_rms));
  }
}

// One block per row; thread j handles frequency i = j mod (d/2) for every (blockDim / (d/2))-th
// head, so each thread computes its cos/sin once per row.
template <typename T>
__global__ void rope_kernel(T* __restrict__ x, int64_t x_stride, int heads, int head_dim,
                            const int64_t* __restrict__ positions, const float* __restrict__ inv_freq) {
  const int half = head_dim / 2;
  const int i = threadIdx.x % half, lane = threadIdx.x / half, lanes = blockDim.x / half;
  if (lane >= lanes) return;
  // HF: freqs = inv_freq @ position_ids.float() in fp32, emb = cat(freqs, freqs), cos/sin cast to T.
  const float angle = static_cast<float>(positions[blockIdx.x]) * inv_freq[i];
  const float c = round_to<T>(cosf(angle)), s = round_to<T>(sinf(angle));
  T* row = x + blockIdx.x * x_stride;
  for (int h = lane; h < heads; h += lanes) {
    T* v = row + static_cast<int64_t>(h) * head_dim;
    const float x1 = to_f(v[i]), x2 = to_f(v[i + half]);
    // q·cos + rotate_half(q)·sin with rotate_half(q) = (−x2, x1). Explicitly rounded products and
    // sums: in fp32 (where round_to is the identity) nvcc would otherwise contract them into an FMA,
    // which ATen's separate multiply and add do not do.
    v[i] = from_f<T>(__fadd_rn(round_to<T>(__fmul_rn(x1, c)), round_to<T>(__fmul_rn(-x2, s))));
    v[i + half] = from_f<T>(__fadd_rn(round_to<T>(__fmul_rn(x2, c)), round_to<T>(__fmul_rn(x1, s))));
  }
}

template <typename T>
__device__ __forceinline__ T silu_times(T g, T u) {
  const float gf = to_f(g);
  return from_f<T>(round_to<T>(gf / (1.f + expf(-gf))) * to_f(u));
}

// Grid-stride over the rows' packs (or elements): gate in columns [0, ffn), up in [ffn, 2·ffn).
template <typename T, bool kPacked>
__global__ void silu_mul_kernel(const T* __restrict__ gate_up, int64_t gu_stride, int64_t rows, int64_t ffn,
                                T* __restrict__ out, int64_t out_stride) {
  constexpr int n = kPacked ? Pack<T>::n : 1;
  const int64_t per_row = ffn / n, total = rows * per_row;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = k / per_row, j = (k % per_row) * n;
    const T* g = gate_up + r * gu_stride + j;
    T* o = out + r * out_stride + j;
    if constexpr (kPacked) {
      const Pack<T> a = *reinterpret_cast<const Pack<T>*>(g), b = *reinterpret_cast<const Pack<T>*>(g + ffn);
      Pack<T> c;
#pragma unroll
      for (int i = 0; i < n; ++i) c.v[i] = silu_times(a.v[i], b.v[i]);
      *reinterpret_cast<Pack<T>*>(o) = c;
    } else {
      *o = silu_times(g[0], g[ffn]);
    }
  }
}

const char* launched() {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

template <typename T>
const char* rms_norm_t(const void* x, int64_t x_stride, const void* w, void* out, int64_t out_stride, int64_t rows,
                       int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return nullptr;
  constexpr int n = Pack<T>::n;
  const bool packed =
      cols % n == 0 && x_stride % n == 0 && out_stride % n == 0 && aligned16(x) && aligned16(w) && aligned16(out);
  const int64_t work = packed ? cols / n : cols;
  // One thread per pack (or element) up to 1024, a whole number of warps (block_sum).
  const int threads = work >= 1024 ? 1024 : static_cast<int>((work + 31) / 32 * 32);
  auto xs = static_cast<const T*>(x), ws = static_cast<const T*>(w);
  auto os = static_cast<T*>(out);
  const auto blocks = static_cast<unsigned>(rows);
  if (packed)
    rms_norm_kernel<T, true><<<blocks, threads, 0, stream>>>(xs, x_stride, ws, os, out_stride, cols, eps);
  else
    rms_norm_kernel<T, false><<<blocks, threads, 0, stream>>>(xs, x_stride, ws, os, out_stride, cols, eps);
  return launched();
}

template <typename T>
const char* rope_t(void* x, int64_t x_stride, int64_t rows, int64_t heads, int64_t head_dim, const int64_t* positions,
                   const float* inv_freq, cudaStream_t stream) {
  if (rows == 0 || heads == 0) return nullptr;
  if (head_dim <= 0 || head_dim % 2 != 0 || head_dim > 1024) return "rope: head_dim must be even, in [2, 1024]";
  const int half = static_cast<int>(head_dim / 2);
  // Up to 256 threads: as many lanes of `half` threads as there are heads.
  int lanes = static_cast<int>(heads < 256 / half ? heads : 256 / half);
  if (lanes < 1) lanes = 1;
  rope_kernel<T><<<static_cast<unsigned>(rows), lanes * half, 0, stream>>>(
      static_cast<T*>(x), x_stride, static_cast<int>(heads), static_cast<int>(head_dim), positions, inv_freq);
  return launched();
}

template <typename T>
const char* silu_mul_t(const void* gate_up, int64_t gu_stride, int64_t rows, int64_t ffn, void* out, int64_t out_stride,
                       cudaStream_t stream) {
  if (rows == 0 || ffn == 0) return nullptr;
  constexpr int n = Pack<T>::n;
  const bool packed = ffn % n == 0 && gu_stride % n == 0 && out_stride % n == 0 && aligned16(gate_up) && aligned16(out);
  const int64_t total = rows * (packed ? ffn / n : ffn);
  const int threads = 256;
  // One thread per pack up to 2^20 blocks; the grid-stride loop covers the rest.
  const int64_t wanted = (total + threads - 1) / threads, blocks = wanted < (1 << 20) ? wanted : (1 << 20);
  auto g = static_cast<const T*>(gate_up);
  auto o = static_cast<T*>(out);
  const auto grid = static_cast<unsigned>(blocks);
  if (packed)
    silu_mul_kernel<T, true><<<grid, threads, 0, stream>>>(g, gu_stride, rows, ffn, o, out_stride);
  else
    silu_mul_kernel<T, false><<<grid, threads, 0, stream>>>(g, gu_stride, rows, ffn, o, out_stride);
  return launched();
}

}  // namespace

const char* rms_norm(DType t, const void* x, int64_t x_stride, const void* weight, void* out, int64_t out_stride,
                     int64_t rows, int64_t cols, float eps, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (t) {
    case DType::f32: return rms_norm_t<float>(x, x_stride, weight, out, out_stride, rows, cols, eps, s);
    case DType::bf16: return rms_norm_t<__nv_bfloat16>(x, x_stride, weight, out, out_stride, rows, cols, eps, s);
    case DType::f16: return rms_norm_t<__half>(x, x_stride, weight, out, out_stride, rows, cols, eps, s);
  }
  return "rms_norm: unknown dtype";
}

const char* rope(DType t, void* x, int64_t x_stride, int64_t rows, int64_t heads, int64_t head_dim,
                 const int64_t* positions, const float* inv_freq, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (t) {
    case DType::f32: return rope_t<float>(x, x_stride, rows, heads, head_dim, positions, inv_freq, s);
    case DType::bf16: return rope_t<__nv_bfloat16>(x, x_stride, rows, heads, head_dim, positions, inv_freq, s);
    case DType::f16: return rope_t<__half>(x, x_stride, rows, heads, head_dim, positions, inv_freq, s);
  }
  return "rope: unknown dtype";
}

const char* silu_mul(DType t, const void* gate_up, int64_t gate_up_stride, int64_t rows, int64_t ffn, void* out,
                     int64_t out_stride, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (t) {
    case DType::f32: return silu_mul_t<float>(gate_up, gate_up_stride, rows, ffn, out, out_stride, s);
    case DType::bf16: return silu_mul_t<__nv_bfloat16>(gate_up, gate_up_stride, rows, ffn, out, out_stride, s);
    case DType::f16: return silu_mul_t<__half>(gate_up, gate_up_stride, rows, ffn, out, out_stride, s);
  }
  return "silu_mul: unknown dtype";
}

}  // namespace claa::cuda::launch
