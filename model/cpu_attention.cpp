#include "model/cpu_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "model/cpu_blas.h"
#include "model/simd_exp.h"

#include "core/error.h"

namespace claa::cpu {

namespace {

// Block sizes of claa's own micro-kernels: a query block's packed rows, scores and output
// accumulator (64 rows × d) and a key block (d × 128 transposed keys + 128 value rows) together
// stay within L2 (512 KiB here).
constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 128;
constexpr int64_t kStackedRows = 192;  // a GQA group's heads together (G = 3: 64 rows each)
// With BLAS products (cpu_blas.h) larger blocks pay off: OpenBLAS sgemm on one thread of dev-2c
// reached 63 GFLOP/s for 128 × 256 scores (k = 64) and 77 for 128 × 64 outputs (k = 256), against
// 54 and 68 at 64 × 128; scores 128 KiB + one key and one value block of 64 KiB each fit L2.
constexpr int64_t kBlasQueryBlock = 128;
constexpr int64_t kBlasKeyBlock = 256;
constexpr int64_t kBlasStackedRows = 384;
constexpr int64_t kRowTile = 4;   // query rows per micro-kernel tile (the row count is padded to it)
constexpr int64_t kColTile = 16;  // keys (or output features) per tile: two 8-float AVX registers
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// ---- Micro-kernels, portable versions -------------------------------------------------------
// scores[r][j] = Σ_t q[r][t] · kt[t][j] for r < rows, j < cols; q rows contiguous (d floats),
// kt is one packed key block, d rows of kKeyBlock floats, scores rows `ld` floats apart.
void scores_portable(const float* q, const float* kt, int64_t rows, int64_t cols, int64_t d, float* scores,
                     int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    float* s = scores + r * ld;
    std::fill(s, s + cols, 0.0f);
    for (int64_t t = 0; t < d; ++t) {
      const float a = q[r * d + t];
      const float* k = kt + t * kKeyBlock;
      for (int64_t j = 0; j < cols; ++j) s[j] += a * k[j];
    }
  }
}

// acc[r][:] += Σ_{j < n} p[r][j] · v[j][:], p rows `ld` floats apart, v rows `v_stride` apart,
// acc rows d floats.
void accumulate_portable(const float* p, int64_t ld, const float* v, int64_t v_stride, int64_t rows, int64_t n,
                         int64_t d, float* acc) {
  for (int64_t r = 0; r < rows; ++r) {
    float* o = acc + r * d;
    for (int64_t j = 0; j < n; ++j) {
      const float w = p[r * ld + j];
      const float* vr = v + j * v_stride;
      for (int64_t t = 0; t < d; ++t) o[t] += w * vr[t];
    }
  }
}

// x[j] = exp(x[j] − shift) for j < n; returns Σ x[j]. exp(−inf) = 0 for masked scores.
float exp_sum_portable(float* x, int64_t n, float shift) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += (x[j] = std::exp(x[j] - shift));
  return sum;
}

// out[r · ld + j] = Σ_t q[r · d + t] · keys[j · stride + t] for r < rows, j < n: the keys read in place.
void dots_portable(const float* q, int64_t rows, int64_t d, const float* keys, int64_t stride, int64_t n, float* out,
                   int64_t ld) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      float sum = 0;
      for (int64_t t = 0; t < d; ++t) sum += q[r * d + t] * keys[j * stride + t];
      out[r * ld + j] = sum;
    }
}

float max_portable(const float* x, int64_t n) { return *std::max_element(x, x + n); }

// y[j] += a · x[j] for j < n.
void axpy_portable(float a, const float* x, int64_t n, float* y) {
  for (int64_t j = 0; j < n; ++j) y[j] += a * x[j];
}

float sum_portable(const float* x, int64_t n) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += x[j];
  return sum;
}

// y[j] = max(y[j], a · x[j]) for j < n.
void max_scaled_portable(float a, const float* x, int64_t n, float* y) {
  for (int64_t j = 0; j < n; ++j) y[j] = std::max(y[j], a * x[j]);
}

#ifdef CLAA_X86_SIMD
// ---- Micro-kernels, AVX2 + FMA (compiled for those instructions only inside these functions) --
// A 4 × 16 register tile: kRowTile rows of two 8-float registers, kept in registers by both kernels.
struct Tile4x16 {
  __m256 row[kRowTile][2];
};

#define CLAA_AVX2_INLINE CLAA_AVX2 inline __attribute__((always_inline))

CLAA_AVX2_INLINE Tile4x16 load_tile(const float* src, int64_t ld) {
  Tile4x16 t;
  for (int64_t i = 0; i < kRowTile; ++i) {
    t.row[i][0] = _mm256_loadu_ps(src + i * ld);
    t.row[i][1] = _mm256_loadu_ps(src + i * ld + 8);
  }
  return t;
}

CLAA_AVX2_INLINE void store_tile(const Tile4x16& t, float* dst, int64_t ld) {
  for (int64_t i = 0; i < kRowTile; ++i) {
    _mm256_storeu_ps(dst + i * ld, t.row[i][0]);
    _mm256_storeu_ps(dst + i * ld + 8, t.row[i][1]);
  }
}

// t.row[i] += a[i · a_stride] · (x0, x1) for the tile's rows: one broadcast, two FMAs a row.
CLAA_AVX2_INLINE void fma_tile(Tile4x16& t, const float* a, int64_t a_stride, __m256 x0, __m256 x1) {
  for (int64_t i = 0; i < kRowTile; ++i) {
    const __m256 b = _mm256_broadcast_ss(a + i * a_stride);
    t.row[i][0] = _mm256_fmadd_ps(b, x0, t.row[i][0]);
    t.row[i][1] = _mm256_fmadd_ps(b, x1, t.row[i][1]);
  }
}

CLAA_AVX2 void scores_avx2(const float* q, const float* kt, int64_t rows, int64_t cols, int64_t d, float* scores,
                           int64_t ld) {
  // Per t, two key vectors are loaded once and used by the tile's four query rows.
  for (int64_t r = 0; r < rows; r += kRowTile) {
    for (int64_t j = 0; j < cols; j += kColTile) {
      Tile4x16 acc{};
      const float* k = kt + j;
      for (int64_t t = 0; t < d; ++t, k += kKeyBlock)
        fma_tile(acc, q + r * d + t, d, _mm256_loadu_ps(k), _mm256_loadu_ps(k + 8));
      store_tile(acc, scores + r * ld + j, ld);
    }
  }
}

CLAA_AVX2 void accumulate_avx2(const float* p, int64_t ld, const float* v, int64_t v_stride, int64_t rows, int64_t n,
                               int64_t d, float* acc) {
  // The output tile stays in registers while j runs over the key block.
  for (int64_t r = 0; r < rows; r += kRowTile) {
    for (int64_t c = 0; c < d; c += kColTile) {
      float* o = acc + r * d + c;
      Tile4x16 out = load_tile(o, d);
      const float* vr = v + c;
      for (int64_t j = 0; j < n; ++j, vr += v_stride)
        fma_tile(out, p + r * ld + j, ld, _mm256_loadu_ps(vr), _mm256_loadu_ps(vr + 8));
      store_tile(out, o, d);
    }
  }
}

CLAA_AVX2 float exp_sum_avx2(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + j), s));
    _mm256_storeu_ps(x + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = hsum256(acc);
  for (; j < n; ++j) sum += (x[j] = std::exp(x[j] - shift));
  return sum;
}

CLAA_AVX2 void dots_avx2(const float* q, int64_t rows, int64_t d, const float* keys, int64_t stride, int64_t n,
                         float* out, int64_t ld) {
  // Each key row is loaded once, 8 features at a time, for up to kRowTile query rows (d % 16 == 0).
  for (int64_t r0 = 0; r0 < rows; r0 += kRowTile) {
    const int64_t tile = std::min(kRowTile, rows - r0);
    for (int64_t j = 0; j < n; ++j) {
      const float* k = keys + j * stride;
      __m256 acc[kRowTile];
      for (int64_t r = 0; r < kRowTile; ++r) acc[r] = _mm256_setzero_ps();
      for (int64_t t = 0; t < d; t += 8) {
        const __m256 kv = _mm256_loadu_ps(k + t);
        for (int64_t r = 0; r < tile; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (r0 + r) * d + t), kv, acc[r]);
      }
      for (int64_t r = 0; r < tile; ++r) out[(r0 + r) * ld + j] = hsum256(acc[r]);
    }
  }
}

CLAA_AVX2 float max_avx2(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(kNegInf);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float best = *std::max_element(lanes, lanes + 8);
  for (; j < n; ++j) best = std::max(best, x[j]);
  return best;
}

CLAA_AVX2 void axpy_avx2(float a, const float* x, int64_t n, float* y) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
  for (; j < n; ++j) y[j] += a * x[j];
}

CLAA_AVX2 float sum_avx2(const float* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + j));
  float sum = hsum256(acc);
  for (; j < n; ++j) sum += x[j];
  return sum;
}

CLAA_AVX2 void max_scaled_avx2(float a, const float* x, int64_t n, float* y) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(y + j, _mm256_max_ps(_mm256_loadu_ps(y + j), _mm256_mul_ps(av, _mm256_loadu_ps(x + j))));
  for (; j < n; ++j) y[j] = std::max(y[j], a * x[j]);
}
#endif  // CLAA_X86_SIMD

struct Kernels {
  void (*scores)(const float*, const float*, int64_t, int64_t, int64_t, float*, int64_t);
  void (*accumulate)(const float*, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, float*);
  float (*exp_sum)(float*, int64_t, float);
  float (*max)(const float*, int64_t);
  void (*axpy)(float, const float*, int64_t, float*);
  float (*sum)(const float*, int64_t);
  void (*max_scaled)(float, const float*, int64_t, float*);
  void (*dots)(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t);
};

Kernels kernels_for(Isa isa) {
#ifdef CLAA_X86_SIMD
  if (isa == Isa::Avx2Fma)
    return {scores_avx2, accumulate_avx2, exp_sum_avx2, max_avx2, axpy_avx2, sum_avx2, max_scaled_avx2, dots_avx2};
#endif
  return {scores_portable, accumulate_portable, exp_sum_portable,    max_portable,
          axpy_portable,   sum_portable,        max_scaled_portable, dots_portable};
}

// How one call runs: the element-wise kernels, who computes the two products (BLAS, or claa's
// micro-kernels on packed keys) and the block sizes that suit that choice.
struct Plan {
  Kernels k;
  bool blas = false;
  int64_t q_block = kQueryBlock, k_block = kKeyBlock;  // query rows per head, keys per block
  int64_t stacked_rows = kQueryBlock;                  // G · q_block: the rows of one work item
};

// Keys of one KV head, transposed per key block: block b holds d rows of kKeyBlock keys
// (zero-padded), so the score kernel reads contiguous key vectors for each feature t.
void pack_keys(const AttentionArgs& a, int64_t kv_head, float* packed) {
  const int64_t d = a.head_dim, blocks = (a.n_keys + kKeyBlock - 1) / kKeyBlock;
  const float* k = a.k + kv_head * a.k_head_stride;
  std::fill(packed, packed + blocks * d * kKeyBlock, 0.0f);
  for (int64_t j = 0; j < a.n_keys; ++j) {
    float* dst = packed + (j / kKeyBlock) * d * kKeyBlock + j % kKeyBlock;
    const float* src = k + j * a.k_row_stride;
    for (int64_t t = 0; t < d; ++t) dst[t * kKeyBlock] = src[t];
  }
}

// Per-thread working memory for one work item: the query block of every head of one KV group,
// stacked (row i = head i / rows of the group, query first_row + i % rows). Score rows are `ld`
// floats apart: one key block wide, or — when H2O's column sums or KVzip's maxima are wanted — as
// wide as all keys, so every block's probabilities stay until the rows' final softmax statistics are known.
bool keeps_all_blocks(const AttentionArgs& a) { return a.column_sums != nullptr || a.subset_maxima != nullptr; }

struct Scratch {
  int64_t ld = 0, max_blocks = 0;
  std::vector<float> q, scores, acc, row_max, row_sum;
  std::vector<float> block_max;  // [stacked_rows × max_blocks]: each row's running max after each block
  Scratch(const Plan& p, const AttentionArgs& a) {
    const int64_t d = a.head_dim;
    max_blocks = (a.n_keys + p.k_block - 1) / p.k_block;
    ld = keeps_all_blocks(a) ? max_blocks * p.k_block : p.k_block;
    q.resize(p.stacked_rows * d);
    scores.resize(p.stacked_rows * ld);
    acc.resize(p.stacked_rows * d);
    row_max.resize(p.stacked_rows);
    row_sum.resize(p.stacked_rows);
    if (keeps_all_blocks(a)) block_max.resize(p.stacked_rows * max_blocks);
  }
  // Where key block kb's scores go: their own columns when all blocks are kept, else the one block.
  float* block(int64_t kb, int64_t k_block) { return scores.data() + (ld == k_block ? 0 : kb * k_block); }
};

// Keys of block `kb` that any query of the block [first_row, first_row + rows) sees: the block's
// last query sees keys up to past + first_row + rows − 1, so the causally invisible tail of the
// diagonal block is never computed.
int64_t block_cols(const Plan& p, const AttentionArgs& a, int64_t kb, int64_t first_row, int64_t rows) {
  const int64_t past = a.n_keys - a.n_queries, j0 = kb * p.k_block;
  return std::min(p.k_block, past + first_row + rows - j0);
}

// Scores of the stacked query rows against key block `kb` into `scores` (rows `ld` apart), scaled,
// causally masked: stacked row i (query first_row + i % rows) sees keys up to past + first_row + i % rows.
void block_scores(const Plan& p, const AttentionArgs& a, const float* q, const float* keys, int64_t kb, int64_t rows,
                  int64_t stacked, int64_t padded, int64_t first_row, float* scores, int64_t ld) {
  const int64_t d = a.head_dim, past = a.n_keys - a.n_queries, j0 = kb * p.k_block;
  const int64_t cols = block_cols(p, a, kb, first_row, rows);
  if (p.blas)  // `keys` = this KV head's rows: scores = q · K[j0 : j0 + cols]ᵀ
    sgemm(/*b_transposed=*/true, stacked, cols, d, q, d, keys + j0 * a.k_row_stride, a.k_row_stride, 0.0f, scores, ld);
  else  // `keys` = this KV head's packed blocks
    p.k.scores(q, keys + kb * d * kKeyBlock, padded, round_up(cols, kColTile), d, scores, ld);
  for (int64_t i = 0; i < stacked; ++i) {
    // Keys after `last` (inside this block) are in the query's future or beyond the cache.
    const int64_t last = std::clamp<int64_t>(past + first_row + i % rows - j0, -1, cols - 1);
    float* row = scores + i * ld;
    std::fill(row + last + 1, row + cols, kNegInf);
  }
}

// acc[i] += Σ_j probs[i][j] · v[j0 + j] over the block's `cols` keys.
void block_accumulate(const Plan& p, const AttentionArgs& a, const float* probs, int64_t ld, const float* v, int64_t kb,
                      int64_t stacked, int64_t padded, int64_t cols, float* acc) {
  const float* vb = v + kb * p.k_block * a.v_row_stride;
  if (p.blas)
    sgemm(/*b_transposed=*/false, stacked, a.head_dim, cols, probs, ld, vb, a.v_row_stride, 1.0f, acc, a.head_dim);
  else
    p.k.accumulate(probs, ld, vb, a.v_row_stride, padded, cols, a.head_dim, acc);
}

// H2O: column sums of the final probabilities softmax(s)[i][j] = e^(s_ij − M_i) / L_i. Block kb's
// stored values are e^(s_ij − m_i(kb)) with the running max after that block, so each row adds
// them times e^(m_i(kb) − M_i) / L_i — no second score pass.
void add_column_sums(const Plan& p, const AttentionArgs& a, const Scratch& s, int64_t key_blocks, int64_t first_row,
                     int64_t rows, int64_t stacked, float* col) {
  for (int64_t kb = 0; kb < key_blocks; ++kb) {
    const int64_t j0 = kb * p.k_block, cols = block_cols(p, a, kb, first_row, rows);
    for (int64_t i = 0; i < stacked; ++i) {
      const float factor = std::exp(s.block_max[i * s.max_blocks + kb] - s.row_max[i]) / s.row_sum[i];
      p.k.axpy(factor, s.scores.data() + i * s.ld + j0, cols, col + j0);
    }
  }
}

// The stored values of row i in key block kb's columns [lo, hi) ∩ [0, cols): Σ e^(s_ij − m_i(kb)).
float stored_sum(const Plan& p, const Scratch& s, int64_t i, int64_t kb, int64_t cols, int64_t lo, int64_t hi) {
  const int64_t j0 = kb * p.k_block, begin = std::max(lo, j0), end = std::min(hi, j0 + cols);
  return end > begin ? p.k.sum(s.scores.data() + i * s.ld + begin, end - begin) : 0.0f;
}

// KVzip: the same probabilities renormalised over the subset [0, sinks) ∪ [focus_begin, focus_end) ∪
// the new keys — L'_i = Σ_kb e^(m_i(kb) − M_i) · Σ_{j ∈ subset ∩ kb} x_ij, then
// p'_ij = x_ij · e^(m_i(kb) − M_i) / L'_i — and each focus key keeps its largest p'_ij over the rows.
// Equal to kvpress's softmax over the gathered subset (kvzip_press.py score_kvzip) up to rounding: the
// shift is the row's maximum over all keys, which the subset contains whenever it holds the sinks.
void add_subset_maxima(const Plan& p, const AttentionArgs& a, const Scratch& s, int64_t key_blocks, int64_t first_row,
                       int64_t rows, int64_t stacked, float* maxima) {
  const int64_t past = a.n_keys - a.n_queries;
  for (int64_t i = 0; i < stacked; ++i) {
    float subset_sum = 0;
    for (int64_t kb = 0; kb < key_blocks; ++kb) {
      const int64_t cols = block_cols(p, a, kb, first_row, rows);
      const float in_block = stored_sum(p, s, i, kb, cols, 0, a.subset_sinks) +
                             stored_sum(p, s, i, kb, cols, a.focus_begin, a.focus_end) +
                             stored_sum(p, s, i, kb, cols, past, a.n_keys);
      subset_sum += in_block * std::exp(s.block_max[i * s.max_blocks + kb] - s.row_max[i]);
    }
    if (!(subset_sum > 0)) continue;  // the whole subset underflowed against the row's maximum: nothing to record
    for (int64_t kb = 0; kb < key_blocks; ++kb) {
      const int64_t j0 = kb * p.k_block, cols = block_cols(p, a, kb, first_row, rows);
      const int64_t begin = std::max(a.focus_begin, j0), end = std::min(a.focus_end, j0 + cols);
      if (end <= begin) continue;
      const float factor = std::exp(s.block_max[i * s.max_blocks + kb] - s.row_max[i]) / subset_sum;
      p.k.max_scaled(factor, s.scores.data() + i * s.ld + begin, end - begin, maxima + begin);
    }
  }
}

// The G heads of a KV group go through each key block together: one product of G·rows query rows
// per block (larger, better-shaped GEMMs, and each key/value block is read once for the group).
void attend_query_block(const Plan& p, const AttentionArgs& a, int64_t kv_head, int64_t qb, const float* keys,
                        Scratch& s, float* column_sums, float* subset_maxima) {
  const int64_t d = a.head_dim, past = a.n_keys - a.n_queries, G = a.n_heads / a.n_kv_heads;
  const int64_t first_row = qb * p.q_block, rows = std::min(p.q_block, a.n_queries - first_row);
  const int64_t stacked = G * rows;
  // claa's micro-kernels work on whole row tiles; BLAS takes any row count.
  const int64_t padded = p.blas ? stacked : round_up(stacked, kRowTile);
  // Scale folded into the packed queries; padding rows are zero (their results are discarded).
  std::fill(s.q.begin(), s.q.end(), 0.0f);
  for (int64_t i = 0; i < stacked; ++i) {
    const float* src = a.q + (kv_head * G + i / rows) * a.q_head_stride + (first_row + i % rows) * a.q_row_stride;
    for (int64_t t = 0; t < d; ++t) s.q[i * d + t] = src[t] * a.scale;
  }
  std::fill(s.acc.begin(), s.acc.end(), 0.0f);
  std::fill(s.row_max.begin(), s.row_max.end(), kNegInf);
  std::fill(s.row_sum.begin(), s.row_sum.end(), 0.0f);
  // Causal: the block's last query sees keys [0, past + first_row + rows − 1].
  const int64_t key_blocks = (past + first_row + rows + p.k_block - 1) / p.k_block;
  const float* v = a.v + kv_head * a.v_head_stride;

  for (int64_t kb = 0; kb < key_blocks; ++kb) {
    float* scores = s.block(kb, p.k_block);
    block_scores(p, a, s.q.data(), keys, kb, rows, stacked, padded, first_row, scores, s.ld);
    const int64_t cols = block_cols(p, a, kb, first_row, rows);
    // Online softmax: rescale what was accumulated under the old row maximum.
    for (int64_t i = 0; i < stacked; ++i) {
      float* row = scores + i * s.ld;
      const float new_max = std::max(s.row_max[i], p.k.max(row, cols));
      const float correction = std::exp(s.row_max[i] - new_max);  // 0 on the first block
      s.row_sum[i] = s.row_sum[i] * correction + p.k.exp_sum(row, cols, new_max);
      s.row_max[i] = new_max;
      if (!s.block_max.empty()) s.block_max[i * s.max_blocks + kb] = new_max;
      if (correction != 1.0f)
        for (int64_t t = 0; t < d; ++t) s.acc[i * d + t] *= correction;
    }
    for (int64_t i = stacked; i < padded; ++i) std::fill(scores + i * s.ld, scores + i * s.ld + p.k_block, 0.0f);
    block_accumulate(p, a, scores, s.ld, v, kb, stacked, padded, cols, s.acc.data());
  }
  for (int64_t i = 0; i < stacked; ++i) {
    float* dst = a.out + (kv_head * G + i / rows) * a.out_head_stride + (first_row + i % rows) * a.out_row_stride;
    const float inv = 1.0f / s.row_sum[i];
    for (int64_t t = 0; t < d; ++t) dst[t] = s.acc[i * d + t] * inv;
  }
  if (column_sums != nullptr)
    add_column_sums(p, a, s, key_blocks, first_row, rows, stacked, column_sums + kv_head * a.n_keys);
  if (subset_maxima != nullptr)
    add_subset_maxima(p, a, s, key_blocks, first_row, rows, stacked, subset_maxima + kv_head * a.n_keys);
}

// ---- One query per head (a decode step) -------------------------------------------------------
// No product here is worth a GEMM (G rows): each key and value row is read once, in place in the
// cache, for the G heads of its group. The keys are cut into chunks so that every thread has work
// however few KV heads there are (SmolLM2: 3 heads on 2 threads); each (KV head, chunk) unit keeps
// its own maximum, sum and unnormalised output, merged at the end as FlashDecoding does (split-K).
constexpr int64_t kDecodeChunk = 256;

void decode_attention(const Kernels& k, const AttentionArgs& a) {
  const int64_t d = a.head_dim, Hkv = a.n_kv_heads, G = a.n_heads / Hkv, S = a.n_keys;
  const int64_t rows = round_up(G, kRowTile);  // the accumulate kernel works on whole row tiles
  const int64_t chunks = (S + kDecodeChunk - 1) / kDecodeChunk, units = Hkv * chunks;
  // Per unit and head of its group: the chunk's maximum and sum of e^(s − max), and Σ e^(s − max)·v.
  std::vector<float> chunk_max(units * G), chunk_sum(units * G), chunk_acc(units * rows * d, 0.0f);
  // H2O's column sums need each key's e^(s − chunk max) until the row's final statistics are known.
  std::vector<float> exps(a.column_sums != nullptr ? Hkv * G * S : 0);
  at::parallel_for(0, units, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> q(G * d), p(rows * kDecodeChunk, 0.0f);  // p's padding rows stay zero
    for (int64_t u = begin; u < end; ++u) {
      const int64_t g = u / chunks, j0 = (u % chunks) * kDecodeChunk, n = std::min(kDecodeChunk, S - j0);
      for (int64_t h = 0; h < G; ++h)
        for (int64_t t = 0; t < d; ++t) q[h * d + t] = a.q[(g * G + h) * a.q_head_stride + t] * a.scale;
      k.dots(q.data(), G, d, a.k + g * a.k_head_stride + j0 * a.k_row_stride, a.k_row_stride, n, p.data(),
             kDecodeChunk);
      for (int64_t h = 0; h < G; ++h) {
        float* row = p.data() + h * kDecodeChunk;
        chunk_max[u * G + h] = k.max(row, n);
        chunk_sum[u * G + h] = k.exp_sum(row, n, chunk_max[u * G + h]);
        if (!exps.empty()) std::copy(row, row + n, exps.data() + (g * G + h) * S + j0);
      }
      k.accumulate(p.data(), kDecodeChunk, a.v + g * a.v_head_stride + j0 * a.v_row_stride, a.v_row_stride, rows, n, d,
                   chunk_acc.data() + u * rows * d);
    }
  });
  std::vector<float> rescale(chunks);  // e^(chunk max − row max), per chunk of the row being merged
  for (int64_t g = 0; g < Hkv; ++g)
    for (int64_t h = 0; h < G; ++h) {
      float row_max = kNegInf, row_sum = 0;
      for (int64_t c = 0; c < chunks; ++c) row_max = std::max(row_max, chunk_max[(g * chunks + c) * G + h]);
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t u = g * chunks + c;
        rescale[c] = std::exp(chunk_max[u * G + h] - row_max);
        row_sum += chunk_sum[u * G + h] * rescale[c];
      }
      float* out = a.out + (g * G + h) * a.out_head_stride;
      std::fill(out, out + d, 0.0f);
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t u = g * chunks + c, j0 = c * kDecodeChunk, n = std::min(kDecodeChunk, S - j0);
        const float factor = rescale[c] / row_sum;
        k.axpy(factor, chunk_acc.data() + (u * rows + h) * d, d, out);
        if (!exps.empty()) k.axpy(factor, exps.data() + (g * G + h) * S + j0, n, a.column_sums + g * S + j0);
      }
    }
}

Isa usable_isa(const AttentionArgs& a) {
  // The AVX2 tiles cover 16 features at a time; other widths take the portable path.
  if (a.isa == Isa::Avx2Fma && (a.head_dim % kColTile != 0 || best_isa() != Isa::Avx2Fma)) return Isa::Portable;
  return a.isa;
}

Plan make_plan(const AttentionArgs& a) {
  Plan p;
  p.k = kernels_for(usable_isa(a));
  p.blas = a.blas_products && sgemm_available();
  if (p.blas) p.k_block = kBlasKeyBlock;
  // Rows per head so that a group's stacked block holds about the target row count.
  const int64_t G = a.n_heads / a.n_kv_heads, target = p.blas ? kBlasStackedRows : kStackedRows;
  const int64_t cap = p.blas ? kBlasQueryBlock : kQueryBlock;
  p.q_block = std::clamp<int64_t>(target / G / kRowTile * kRowTile, kRowTile, cap);
  // A short call (an answer pass of a few tokens) needs no more rows than it has: the per-thread
  // scratch is sized and cleared by q_block. One query block either way, so the arithmetic is the same.
  p.q_block = std::min(p.q_block, round_up(a.n_queries, kRowTile));
  p.stacked_rows = G * p.q_block;
  return p;
}

}  // namespace

Isa best_isa() {
#ifdef CLAA_X86_SIMD
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return Isa::Avx2Fma;
#endif
  return Isa::Portable;
}

const char* isa_name(Isa isa) { return isa == Isa::Avx2Fma ? "avx2+fma" : "portable"; }

void causal_attention(const AttentionArgs& a) {
  require(a.n_heads > 0 && a.n_kv_heads > 0 && a.n_heads % a.n_kv_heads == 0, "attention: bad head counts");
  require(a.n_keys >= a.n_queries && a.n_queries > 0, "attention: needs at least as many keys as queries");
  if (a.subset_maxima != nullptr)
    require(0 <= a.subset_sinks && a.subset_sinks <= a.focus_begin && a.focus_begin <= a.focus_end &&
                a.focus_end <= a.n_keys - a.n_queries,
            "attention: the subset's sinks and focus must lie, in order, before the new keys");
  if (a.n_queries == 1 && a.subset_maxima == nullptr) return decode_attention(kernels_for(usable_isa(a)), a);
  const int64_t d = a.head_dim, Hkv = a.n_kv_heads;
  const Plan plan = make_plan(a);

  // claa's score micro-kernel reads keys packed per block; BLAS reads the cache rows in place.
  const int64_t key_blocks = (a.n_keys + kKeyBlock - 1) / kKeyBlock;
  const int64_t packed_per_head = plan.blas ? 0 : key_blocks * d * kKeyBlock;
  std::vector<float> packed(Hkv * packed_per_head);
  if (!plan.blas)
    at::parallel_for(0, Hkv, 1, [&](int64_t b, int64_t e) {
      for (int64_t g = b; g < e; ++g) pack_keys(a, g, packed.data() + g * packed_per_head);
    });
  auto keys_of = [&](int64_t kv_head) {
    return plan.blas ? a.k + kv_head * a.k_head_stride : packed.data() + kv_head * packed_per_head;
  };

  // Work items are (query block, KV group) pairs, heaviest (latest, causally longest) first;
  // thread i takes items i, i + P, i + 2P, ... which balances the triangular cost across threads.
  const int64_t query_blocks = (a.n_queries + plan.q_block - 1) / plan.q_block;
  const int64_t items = query_blocks * Hkv;
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), items));
  // Column sums and maxima are accumulated per worker and combined at the end (no atomics in the
  // hot loop); probabilities are ≥ 0, so 0 starts a maximum.
  const int64_t per_worker = Hkv * a.n_keys;
  std::vector<float> partial_sums(a.column_sums ? workers * per_worker : 0, 0.0f);
  std::vector<float> partial_maxima(a.subset_maxima ? workers * per_worker : 0, 0.0f);
  at::parallel_for(0, workers, 1, [&](int64_t b, int64_t e) {
    Scratch scratch(plan, a);
    for (int64_t w = b; w < e; ++w) {
      float* sums = a.column_sums ? partial_sums.data() + w * per_worker : nullptr;
      float* maxima = a.subset_maxima ? partial_maxima.data() + w * per_worker : nullptr;
      for (int64_t item = w; item < items; item += workers) {
        const int64_t qb = query_blocks - 1 - item / Hkv, kv_head = item % Hkv;
        attend_query_block(plan, a, kv_head, qb, keys_of(kv_head), scratch, sums, maxima);
      }
    }
  });
  if (a.column_sums)
    for (int64_t w = 0; w < workers; ++w)
      for (int64_t i = 0; i < per_worker; ++i) a.column_sums[i] += partial_sums[w * per_worker + i];
  if (a.subset_maxima)
    for (int64_t g = 0; g < Hkv; ++g)
      for (int64_t j = a.focus_begin; j < a.focus_end; ++j) {
        float& best = a.subset_maxima[g * a.n_keys + j];
        for (int64_t w = 0; w < workers; ++w) best = std::max(best, partial_maxima[w * per_worker + g * a.n_keys + j]);
      }
}

}  // namespace claa::cpu
