// H2O's accumulated attention on the GPU without an N×N matrix: the column sums of a causal
// prefill's softmax, Σ_q softmax(q·K·scale)[q, j] over the G query heads of each KV group and every
// query, from the queries, the keys and each query's log-sum-exp (which the attention forward already
// computed: flash attention returns it). This is the second pass of a two-pass scheme, shaped like
// FlashAttention's backward: each block owns the keys of one KV head and walks down the query tiles
// that can see them, so its sums stay in registers and no atomics are needed.
//
// The pass is FlashAttention-2's inner loop turned on its side: Sᵀ = K·Qᵀ on tensor cores
// (mma.sync m16n8k16, 16-bit inputs, fp32 accumulation, as the forward's), with the block's keys as the
// rows, so a key's sum is a row sum of the accumulators and never leaves the registers. The keys'
// fragments stay in registers for the whole walk; query tiles stream through shared memory with
// cp.async, two stages, the next tile loading while this one is multiplied; p = 2^(s·scale·log₂e −
// lse·log₂e) is taken on the accumulators themselves. A first version (WMMA, scores through shared
// memory, synchronous loads) reached ~67 TFLOP/s on an H100 (docs/benchmarks.md).
//
// The same walk with a max instead of a sum gives KVzip's per-key maxima (kvpress kvzip_press.py
// score_kvzip: max over the group's query heads and the reconstruction queries of the softmax over the
// chunk's subset of keys) for keys every query sees (the chunk's context keys precede its queries), so
// the max walk has no causal mask and starts every block at the first query.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "model/cuda/column_sums.h"

namespace claa::cuda::launch {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kQueries = 64;  // queries per tile: 8 mma column blocks of 8
constexpr int kPad = 8;       // 16-bit elements of padding per shared row: rows 16 bytes apart mod 128 (no bank conflicts)
constexpr float kLog2e = 1.4426950408889634f;

// Tiling for head dimensions up to D (smaller ones ride zero-padded, which adds nothing to a dot product).
template <int D>
struct Tiling {
  static constexpr int kRowTiles = D <= 128 ? 2 : 1;    // 16-key mma row tiles per warp (their fragments: registers)
  static constexpr int kKeys = kWarps * 16 * kRowTiles;  // keys per block
  static constexpr int kSteps = D / 16;                  // mma k-steps over the head dimension
  static constexpr int kStride = D + kPad;               // elements per shared query row
  static constexpr size_t kSharedBytes = 2 * kQueries * kStride * 2 + 2 * kQueries * sizeof(float);
};

template <typename T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);

template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <>
__device__ __forceinline__ void mma_16816<__half>(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

__device__ __forceinline__ void copy_async_16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(dst)), "l"(src));
}

__device__ __forceinline__ void copy_async_4(void* dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(shared_address(dst)), "l"(src));
}

__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }

template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
}

// Two 16-bit elements (row, col), (row, col + 1) of a [n, d] operand as one register; zero outside it.
template <typename T>
__device__ __forceinline__ uint32_t load_pair(const T* base, int64_t row_stride, int row, int col, int n, int d) {
  if (row >= n || col >= d) return 0u;
  return *reinterpret_cast<const uint32_t*>(base + int64_t(row) * row_stride + col);
}

// 2^x with subnormal results flushed to zero: one MUFU.EX2. exp2f() without --use_fast_math adds a
// range check and two multiplies around it to return subnormals, which a sum or a max of
// probabilities cannot tell from zero (each is below 2^-126 of the largest).
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Adds one tile's probabilities p = 2^(s·scale·log₂e − lse·log₂e) to each key's running sum (or max).
// Masked = true zeroes queries past the end and, for sums, queries before the key (causal).
template <int RowTiles, bool Max, bool Masked>
__device__ __forceinline__ void accumulate_tile(float (&row_total)[RowTiles][2], const float (&acc)[RowTiles][8][4],
                                                const float* tile_lse, float scale_log2, int lane, int i0, int key_base,
                                                int n_queries) {
#pragma unroll
  for (int nb = 0; nb < 8; ++nb)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int column = nb * 8 + 2 * (lane % 4) + e, query = i0 + column;
      const float lse_log2 = tile_lse[column] * kLog2e;
#pragma unroll
      for (int mt = 0; mt < RowTiles; ++mt)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float p = exp2_ftz(fmaf(acc[mt][nb][half * 2 + e], scale_log2, -lse_log2));
          if constexpr (Masked) {
            const int key = key_base + mt * 16 + lane / 4 + half * 8;
            if (query >= n_queries || (!Max && key > query)) p = 0.0f;
          }
          row_total[mt][half] = Max ? fmaxf(row_total[mt][half], p) : row_total[mt][half] + p;
        }
    }
}

// grid (H_kv, key blocks); out [H_kv, n_keys] fp32, written (not accumulated) for this block's keys.
// Max = false: sums over a causal prefill (n_queries = n_keys; query i sees key j iff j ≤ i).
// Max = true: maxima over queries that all see all keys.
template <typename T, int D, bool Max>
__global__ void __launch_bounds__(kThreads)
    column_kernel(const T* q, int64_t q_head_stride, int64_t q_row_stride, const T* k, int64_t k_head_stride,
                  int64_t k_row_stride, const float* lse, int64_t lse_head_stride, float* out, int heads, int kv_heads,
                  int n_queries, int n_keys, int d, float scale_log2) {
  using Tile = Tiling<D>;
  extern __shared__ __align__(128) unsigned char shared[];
  T* tiles = reinterpret_cast<T*>(shared);                                            // [2][kQueries][kStride]
  float* tile_lse = reinterpret_cast<float*>(tiles + 2 * kQueries * Tile::kStride);  // [2][kQueries]

  const int g = blockIdx.x, j0 = blockIdx.y * Tile::kKeys;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int group = heads / kv_heads;

  // Zeroed once: the copies write only d columns and the valid rows, so padded columns stay zero and
  // every value a masked lane reads is finite.
  for (int i = threadIdx.x; i < int(Tile::kSharedBytes / 16); i += kThreads)
    reinterpret_cast<uint4*>(shared)[i] = make_uint4(0, 0, 0, 0);
  __syncthreads();

  // This warp's keys as mma A fragments (row-major 16 × 16: rows lane/4 and lane/4 + 8, columns
  // 2·(lane%4) + {0, 1} and + 8), held for the whole walk.
  const int key_base = j0 + warp * 16 * Tile::kRowTiles;
  const T* keys = k + g * k_head_stride;
  uint32_t a[Tile::kRowTiles][Tile::kSteps][4];
#pragma unroll
  for (int mt = 0; mt < Tile::kRowTiles; ++mt)
#pragma unroll
    for (int s = 0; s < Tile::kSteps; ++s) {
      const int row = key_base + mt * 16 + lane / 4, col = s * 16 + 2 * (lane % 4);
      a[mt][s][0] = load_pair(keys, k_row_stride, row, col, n_keys, d);
      a[mt][s][1] = load_pair(keys, k_row_stride, row + 8, col, n_keys, d);
      a[mt][s][2] = load_pair(keys, k_row_stride, row, col + 8, n_keys, d);
      a[mt][s][3] = load_pair(keys, k_row_stride, row + 8, col + 8, n_keys, d);
    }

  // Work items: (query head of the group, query tile), tiles from the block's first key (causal: query i
  // sees key j iff j ≤ i; every query for the max walk) to the end.
  const int query_begin = Max ? 0 : j0;
  const int tiles_per_head = (n_queries - query_begin + kQueries - 1) / kQueries;
  const int items = group * tiles_per_head;
  auto first_query = [&](int item) { return query_begin + (item % tiles_per_head) * kQueries; };
  auto issue_copies = [&](int item, int stage) {
    const int h = g * group + item / tiles_per_head, i0 = first_query(item);
    const int valid = min(kQueries, n_queries - i0), chunks = d / 8;  // 8 elements = 16 bytes
    const T* src = q + h * q_head_stride + int64_t(i0) * q_row_stride;
    T* dst = tiles + stage * kQueries * Tile::kStride;
    for (int c = threadIdx.x; c < valid * chunks; c += kThreads) {
      const int row = c / chunks, col = (c % chunks) * 8;
      copy_async_16(dst + row * Tile::kStride + col, src + row * q_row_stride + col);
    }
    if (threadIdx.x < valid)
      copy_async_4(tile_lse + stage * kQueries + threadIdx.x, lse + h * lse_head_stride + i0 + threadIdx.x);
    commit_copies();
  };

  float row_total[Tile::kRowTiles][2] = {};  // sums, or maxima (every p ≥ 0, so 0 starts a max)
  issue_copies(0, 0);
  for (int item = 0; item < items; ++item) {
    const int stage = item & 1;
    if (item + 1 < items) {
      issue_copies(item + 1, stage ^ 1);  // the stage the previous item used; all warps are past it
      wait_copies<1>();
    } else {
      wait_copies<0>();
    }
    __syncthreads();
    const T* tile = tiles + stage * kQueries * Tile::kStride;
    const float* tile_lse_now = tile_lse + stage * kQueries;

    float acc[Tile::kRowTiles][8][4] = {};
#pragma unroll
    for (int s = 0; s < Tile::kSteps; ++s) {
      // B fragments of the 8 query blocks (column-major 16 × 8 = query rows of the tile): ldmatrix.x4
      // gives two blocks at once, lane → row lane % 8 of matrix lane / 8 = (block 2p + m/2, k half m%2).
      uint32_t b[8][2];
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        const int m = lane / 8;
        uint32_t r[4];
        ldmatrix_x4(r, tile + ((2 * p + m / 2) * 8 + lane % 8) * Tile::kStride + s * 16 + (m % 2) * 8);
        b[2 * p][0] = r[0];
        b[2 * p][1] = r[1];
        b[2 * p + 1][0] = r[2];
        b[2 * p + 1][1] = r[3];
      }
#pragma unroll
      for (int mt = 0; mt < Tile::kRowTiles; ++mt)
#pragma unroll
        for (int nb = 0; nb < 8; ++nb) mma_16816<T>(acc[mt][nb], a[mt][s], b[nb]);
    }

    // Accumulator (mt, nb)[half·2 + e]: key row lane/4 + 8·half of row tile mt, query column 2·(lane%4) + e
    // of block nb. Only tiles that reach the block's keys (the diagonal) or the end need masks: they take
    // their own branch (uniform across the block), so the others pay for no index arithmetic.
    const int i0 = first_query(item);
    const bool edge = (!Max && i0 < j0 + Tile::kKeys) || i0 + kQueries > n_queries;
    if (edge)
      accumulate_tile<Tile::kRowTiles, Max, true>(row_total, acc, tile_lse_now, scale_log2, lane, i0, key_base,
                                                  n_queries);
    else
      accumulate_tile<Tile::kRowTiles, Max, false>(row_total, acc, tile_lse_now, scale_log2, lane, i0, key_base,
                                                   n_queries);
    __syncthreads();  // every warp is done with this stage before the next item's copies overwrite it
  }

  // A key's total is spread over the four lanes of its quad.
#pragma unroll
  for (int mt = 0; mt < Tile::kRowTiles; ++mt)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float v = row_total[mt][half];
#pragma unroll
      for (int lanes = 1; lanes <= 2; lanes *= 2) {
        const float other = __shfl_xor_sync(0xffffffffu, v, lanes);
        v = Max ? fmaxf(v, other) : v + other;
      }
      const int key = key_base + mt * 16 + lane / 4 + half * 8;
      if (lane % 4 == 0 && key < n_keys) out[g * int64_t(n_keys) + key] = v;
    }
}

// One walk's operands: q [H, n_queries, d], k [H_kv, n_keys, d], lse [H, n_queries], out [H_kv, n_keys].
struct Walk {
  const void* q;
  int64_t q_head_stride, q_row_stride;
  const void* k;
  int64_t k_head_stride, k_row_stride;
  const float* lse;
  int64_t lse_head_stride;
  float* out;
  int heads, kv_heads, n_queries, n_keys, head_dim;
  float scale;
};

template <typename T, int D, bool Max>
const char* run(const Walk& w, void* stream) {
  using Tile = Tiling<D>;
  cudaError_t e = cudaFuncSetAttribute(column_kernel<T, D, Max>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(Tile::kSharedBytes));
  if (e != cudaSuccess) return cudaGetErrorString(e);
  // Key blocks along y and KV heads along x: blocks start in index order, so the longest walks (the
  // first keys, seen by every query) of every head start first and the short ones fill the tail.
  const dim3 grid(w.kv_heads, (w.n_keys + Tile::kKeys - 1) / Tile::kKeys);
  column_kernel<T, D, Max><<<grid, kThreads, Tile::kSharedBytes, static_cast<cudaStream_t>(stream)>>>(
      static_cast<const T*>(w.q), w.q_head_stride, w.q_row_stride, static_cast<const T*>(w.k), w.k_head_stride,
      w.k_row_stride, w.lse, w.lse_head_stride, w.out, w.heads, w.kv_heads, w.n_queries, w.n_keys, w.head_dim,
      w.scale * kLog2e);
  e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

template <bool Max>
const char* run_walk(bool bf16, const Walk& w, void* stream) {
  if (w.head_dim % 16 != 0 || w.head_dim > 256) return "head_dim must be a multiple of 16, at most 256";
  if (w.n_queries <= 0 || w.n_keys <= 0) return nullptr;  // nothing to walk (an empty grid is a launch error)
  if (bf16) {
    if (w.head_dim <= 64) return run<__nv_bfloat16, 64, Max>(w, stream);
    if (w.head_dim <= 128) return run<__nv_bfloat16, 128, Max>(w, stream);
    return run<__nv_bfloat16, 256, Max>(w, stream);
  }
  if (w.head_dim <= 64) return run<__half, 64, Max>(w, stream);
  if (w.head_dim <= 128) return run<__half, 128, Max>(w, stream);
  return run<__half, 256, Max>(w, stream);
}

}  // namespace

const char* softmax_column_sums(bool bf16, const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k,
                                int64_t k_head_stride, int64_t k_row_stride, const float* lse,
                                int64_t lse_head_stride, float* sums, int heads, int kv_heads, int n, int head_dim,
                                float scale, void* stream) {
  const Walk w{q,   q_head_stride,   q_row_stride, k,     k_head_stride, k_row_stride,
               lse, lse_head_stride, sums,         heads, kv_heads,      n,
               n,   head_dim,        scale};
  return run_walk<false>(bf16, w, stream);
}

const char* softmax_column_maxima(bool bf16, const void* q, int64_t q_head_stride, int64_t q_row_stride, const void* k,
                                  int64_t k_head_stride, int64_t k_row_stride, const float* lse,
                                  int64_t lse_head_stride, float* maxima, int heads, int kv_heads, int n_queries,
                                  int n_keys, int head_dim, float scale, void* stream) {
  const Walk w{q,      q_head_stride, q_row_stride, k,         k_head_stride, k_row_stride, lse,  lse_head_stride,
               maxima, heads,         kv_heads,     n_queries, n_keys,        head_dim,     scale};
  return run_walk<true>(bf16, w, stream);
}

}  // namespace claa::cuda::launch
