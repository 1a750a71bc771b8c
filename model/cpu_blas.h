// The CPU BLAS that LibTorch runs on, called directly where ATen's per-call overhead would be too
// much (the attention's many small block products). Debian's LibTorch uses OpenBLAS; it is found
// at run time in the loaded process (no link-time dependency, no header), so builds against a
// LibTorch with MKL inside (pip wheels) simply report "not available" and use claa's own kernels.
//
// Raw pointers keep this header free of torch.
#pragma once

#include <cstdint>

namespace claa::cpu {

// OpenBLAS keeps its own pthread pool next to ATen's OpenMP pool; after each GEMM its workers
// spin-wait while OpenMP threads run the next kernels, so on a machine with few cores the two pools
// fight. The fused CPU path therefore runs BLAS single-threaded and splits each GEMM over ATen's
// threads itself (Transformer::linear_cpu). Sets OpenBLAS's thread count when the process has
// OpenBLAS loaded; returns false otherwise (MKL builds run single-threaded inside ATen's parallel
// regions by themselves).
bool set_blas_threads(int threads);

// True when the loaded OpenBLAS has 32-bit integers and its cblas_sgemm was found.
bool sgemm_available();

// Row-major single-precision GEMM on the calling thread's BLAS:
//   C[m × n] = A[m × k] · B + beta · C, with B given as [k × n] (ldb ≥ n) or, when
//   `b_transposed`, as [n × k] (ldb ≥ k, i.e. C = A · Bᵀ). Leading dimensions are row strides.
// Requires sgemm_available().
void sgemm(bool b_transposed, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
           float beta, float* c, int64_t ldc);

}  // namespace claa::cpu
