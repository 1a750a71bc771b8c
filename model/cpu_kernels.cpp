#include "model/cpu_kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "model/cpu_attention.h"
#include "model/simd_exp.h"

namespace claa::cpu {

namespace {

std::atomic<bool> portable_only{false};

bool use_avx2() { return !portable_only && best_isa() == Isa::Avx2Fma; }

// Rows per task: about 16K floats of work each, so short inputs (decode steps) stay on the
// calling thread and open no parallel region.
int64_t grain_rows(int64_t floats_per_row) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, floats_per_row));
}

void rms_norm_row_portable(const float* x, const float* w, int64_t dim, float eps, float* out) {
  float sum = 0;
  for (int64_t j = 0; j < dim; ++j) sum += x[j] * x[j];
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  for (int64_t j = 0; j < dim; ++j) out[j] = w[j] * (x[j] * inv);
}

float silu(float g) { return g / (1.0f + std::exp(-g)); }

void silu_mul_row_portable(const float* g, const float* u, int64_t n, float* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = silu(g[j]) * u[j];
}

#ifdef CLAA_X86_SIMD
CLAA_AVX2 void rms_norm_row_avx2(const float* x, const float* w, int64_t dim, float eps, float* out) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
  int64_t j = 0;
  for (; j + 16 <= dim; j += 16) {
    const __m256 a = _mm256_loadu_ps(x + j), b = _mm256_loadu_ps(x + j + 8);
    acc0 = _mm256_fmadd_ps(a, a, acc0);
    acc1 = _mm256_fmadd_ps(b, b, acc1);
  }
  float sum = hsum256(_mm256_add_ps(acc0, acc1));
  for (; j < dim; ++j) sum += x[j] * x[j];
  const float inv = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
  const __m256 vinv = _mm256_set1_ps(inv);
  j = 0;
  for (; j + 8 <= dim; j += 8)
    _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(w + j), _mm256_mul_ps(_mm256_loadu_ps(x + j), vinv)));
  for (; j < dim; ++j) out[j] = w[j] * (x[j] * inv);
}

CLAA_AVX2 void silu_mul_row_avx2(const float* g, const float* u, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 x = _mm256_loadu_ps(g + j);
    const __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, exp256(_mm256_sub_ps(zero, x))));
    _mm256_storeu_ps(out + j, _mm256_mul_ps(s, _mm256_loadu_ps(u + j)));
  }
  for (; j < n; ++j) out[j] = silu(g[j]) * u[j];
}
#endif

}  // namespace

void set_portable_only(bool portable) { portable_only = portable; }

int parallel_width() {
  const int64_t threads = at::get_num_threads();
  std::vector<std::atomic<bool>> used(static_cast<size_t>(threads));
  // One item per thread, grain 1: every thread of the region gets one index when the region is parallel.
  at::parallel_for(0, threads, 1, [&](int64_t, int64_t) {
    used[static_cast<size_t>(std::min<int64_t>(at::get_thread_num(), threads - 1))] = true;
  });
  int width = 0;
  for (const auto& u : used) width += u ? 1 : 0;
  return width;
}

void rms_norm(const float* x, int64_t x_stride, const float* weight, int64_t rows, int64_t dim, float eps, float* out,
              int64_t out_stride) {
  auto row = rms_norm_row_portable;
#ifdef CLAA_X86_SIMD
  if (use_avx2()) row = rms_norm_row_avx2;
#endif
  at::parallel_for(0, rows, grain_rows(dim), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) row(x + r * x_stride, weight, dim, eps, out + r * out_stride);
  });
}

void rope_in_place(float* x, int64_t x_stride, int64_t rows, int64_t heads, int64_t head_dim, const float* cos,
                   const float* sin) {
  const int64_t half = head_dim / 2;
  // Simple independent lanes: the compiler vectorises this loop on any target.
  at::parallel_for(0, rows, grain_rows(heads * head_dim), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* c = cos + r * half;
      const float* s = sin + r * half;
      for (int64_t h = 0; h < heads; ++h) {
        float* x1 = x + r * x_stride + h * head_dim;
        float* x2 = x1 + half;
        for (int64_t i = 0; i < half; ++i) {
          const float a = x1[i], b2 = x2[i];
          x1[i] = a * c[i] - b2 * s[i];
          x2[i] = b2 * c[i] + a * s[i];
        }
      }
    }
  });
}

void silu_mul(const float* gate_up, int64_t gate_up_stride, int64_t rows, int64_t ffn, float* out, int64_t out_stride) {
  auto row = silu_mul_row_portable;
#ifdef CLAA_X86_SIMD
  if (use_avx2()) row = silu_mul_row_avx2;
#endif
  at::parallel_for(0, rows, grain_rows(2 * ffn), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* g = gate_up + r * gate_up_stride;
      row(g, g + ffn, ffn, out + r * out_stride);
    }
  });
}

}  // namespace claa::cpu
