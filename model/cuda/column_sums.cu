// H2O's accumulated attention on the GPU without an N×N matrix: the column sums of a causal
// prefill's softmax, Σ_q softmax(q·K·scale)[q, j] over the G query heads of each KV group and every
// query, from the queries, the keys and each query's log-sum-exp (which the attention forward already
// computed: flash attention returns it). This is the second pass of a two-pass scheme, shaped like
// FlashAttention's backward: each block owns 64 keys of one KV head and walks down the query blocks
// that can see them, so its sums stay in registers and no atomics are needed.
//
// Per (64 queries × 64 keys) tile: S = Q·Kᵀ on tensor cores (WMMA, 16-bit inputs, fp32 accumulation,
// as the forward's), then p = exp(S·scale − lse) with the causal mask, summed per key column.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>

#include "model/cuda/column_sums.h"

namespace claa::cuda::launch {

namespace {

namespace wmma = nvcuda::wmma;

constexpr int kTile = 64;      // queries per tile and keys per block
constexpr int kThreads = 128;  // 4 warps, 16 query rows of the tile each
constexpr int kPad = 8;        // 16-bit elements of padding per shared row (bank conflicts)

// Dynamic shared memory: the block's keys, one query tile, its scores and log-sum-exps.
template <typename T>
size_t shared_bytes(int head_dim) {
  return 2 * kTile * (head_dim + kPad) * sizeof(T) + kTile * (kTile + 4) * sizeof(float) + kTile * sizeof(float);
}

// One 64-row tile of a [rows, d] operand (rows `stride` elements apart) into shared memory, rows
// past `valid` zeroed; 16-byte copies (d a multiple of 8).
template <typename T>
__device__ void load_tile(T* dst, const T* src, int64_t stride, int valid, int d) {
  const int chunks = d / 8;  // 8 elements = 16 bytes
  for (int c = threadIdx.x; c < kTile * chunks; c += kThreads) {
    const int row = c / chunks, col = (c % chunks) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < valid) v = *reinterpret_cast<const uint4*>(src + row * stride + col);
    *reinterpret_cast<uint4*>(dst + row * (d + kPad) + col) = v;
  }
}

// grid (key blocks, H_kv); sums [H_kv, S] fp32, written (not accumulated) for this block's keys.
template <typename T>
__global__ void __launch_bounds__(kThreads) column_sums_kernel(const T* q, int64_t q_head_stride, int64_t q_row_stride,
                                                               const T* k, int64_t k_head_stride, int64_t k_row_stride,
                                                               const float* lse, int64_t lse_head_stride, float* sums,
                                                               int heads, int kv_heads, int n, int d, float scale) {
  extern __shared__ __align__(128) unsigned char shared[];  // WMMA needs 32-byte-aligned tiles
  T* keys = reinterpret_cast<T*>(shared);
  T* queries = keys + kTile * (d + kPad);
  float* scores = reinterpret_cast<float*>(queries + kTile * (d + kPad));  // [kTile][kTile + 4]
  float* tile_lse = scores + kTile * (kTile + 4);

  const int g = blockIdx.y, j0 = blockIdx.x * kTile, warp = threadIdx.x / 32;
  const int group = heads / kv_heads;
  load_tile(keys, k + g * k_head_stride + int64_t(j0) * k_row_stride, k_row_stride, min(kTile, n - j0), d);

  // Thread t sums key column t % 64 over half the tile's rows (t / 64).
  const int column = threadIdx.x % kTile, half = threadIdx.x / kTile;
  const int j = j0 + column;
  float total = 0.0f;
  for (int h = g * group; h < (g + 1) * group; ++h) {
    // Causal: query i sees key j iff j ≤ i, so tiles start at the block's first key.
    for (int i0 = j0; i0 < n; i0 += kTile) {
      __syncthreads();  // the previous tile's scores are read
      const int valid = min(kTile, n - i0);
      load_tile(queries, q + h * q_head_stride + int64_t(i0) * q_row_stride, q_row_stride, valid, d);
      if (threadIdx.x < kTile) tile_lse[threadIdx.x] = threadIdx.x < valid ? lse[h * lse_head_stride + i0 + threadIdx.x] : 0.0f;
      __syncthreads();
      // This warp's 16 rows × 64 columns: four 16 × 16 accumulators.
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4];
      for (int c = 0; c < 4; ++c) wmma::fill_fragment(acc[c], 0.0f);
      for (int t = 0; t < d; t += 16) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
        wmma::load_matrix_sync(a, queries + warp * 16 * (d + kPad) + t, d + kPad);
        for (int c = 0; c < 4; ++c) {
          // Kᵀ as a column-major matrix_b: element (t', key) at keys[key · (d + pad) + t'].
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
          wmma::load_matrix_sync(b, keys + c * 16 * (d + kPad) + t, d + kPad);
          wmma::mma_sync(acc[c], a, b, acc[c]);
        }
      }
      for (int c = 0; c < 4; ++c)
        wmma::store_matrix_sync(scores + warp * 16 * (kTile + 4) + c * 16, acc[c], kTile + 4, wmma::mem_row_major);
      __syncthreads();
      if (j < n)
        for (int r = half * (kTile / 2); r < (half + 1) * (kTile / 2); ++r) {
          const int i = i0 + r;
          if (i < n && j <= i) total += __expf(scores[r * (kTile + 4) + column] * scale - tile_lse[r]);
        }
    }
  }
  __syncthreads();
  // The two halves of each column, added through shared memory.
  if (half == 1) scores[column] = total;
  __syncthreads();
  if (half == 0 && j < n) sums[g * int64_t(n) + j] = total + scores[column];
}

template <typename T>
const char* run(const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k, int64_t k_head_stride,
                int64_t k_row_stride, const float* lse, int64_t lse_head_stride, float* sums, int heads, int kv_heads,
                int n, int d, float scale, void* stream) {
  const size_t bytes = shared_bytes<T>(d);
  cudaError_t e = cudaFuncSetAttribute(column_sums_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(bytes));
  if (e != cudaSuccess) return cudaGetErrorString(e);
  const dim3 grid((n + kTile - 1) / kTile, kv_heads);
  column_sums_kernel<T><<<grid, kThreads, bytes, static_cast<cudaStream_t>(stream)>>>(
      static_cast<const T*>(q), q_head_stride, q_row_stride, static_cast<const T*>(k), k_head_stride, k_row_stride,
      lse, lse_head_stride, sums, heads, kv_heads, n, d, scale);
  e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

}  // namespace

const char* softmax_column_sums(bool bf16, const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k,
                                int64_t k_head_stride, int64_t k_row_stride, const float* lse,
                                int64_t lse_head_stride, float* sums, int heads, int kv_heads, int n, int head_dim,
                                float scale, void* stream) {
  if (head_dim % 16 != 0 || head_dim > 256) return "head_dim must be a multiple of 16, at most 256";
  if (bf16)
    return run<__nv_bfloat16>(q, q_head_stride, q_row_stride, k, k_head_stride, k_row_stride, lse, lse_head_stride,
                              sums, heads, kv_heads, n, head_dim, scale, stream);
  return run<__half>(q, q_head_stride, q_row_stride, k, k_head_stride, k_row_stride, lse, lse_head_stride, sums, heads,
                     kv_heads, n, head_dim, scale, stream);
}

}  // namespace claa::cuda::launch
