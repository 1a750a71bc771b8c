// OpenBLAS sgemm's own GFLOP/s on SmolLM2-135M's prefill GEMM shapes (row-major y[T,N] = x[T,K]·w[N,K]ᵀ,
// the layout claa and LibTorch use), with 1 and 2 OpenBLAS threads: the yardstick for claa's
// linear layers (docs/benchmarks.md). Build and run:
//   gcc -O2 tools/blas_gflops.c -o /tmp/blas_gflops /usr/lib/x86_64-linux-gnu/libopenblas.so.0 && /tmp/blas_gflops 1024
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*);
void openblas_set_num_threads(int);
char* openblas_get_corename(void);
char* openblas_get_config(void);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char** argv) {
  const int T = argc > 1 ? atoi(argv[1]) : 1024;
  // N, K of the fused QKV, output, fused gate/up and down projections.
  const int shapes[][2] = {{960, 576}, {576, 576}, {3072, 576}, {576, 1536}};
  const char* names[] = {"qkv", "o", "gate_up", "down"};
  printf("%s (core %s), T = %d\n", openblas_get_config(), openblas_get_corename(), T);
  for (int threads = 1; threads <= 2; ++threads) {
    openblas_set_num_threads(threads);
    double flops_total = 0, seconds_total = 0;
    for (int s = 0; s < 4; ++s) {
      int N = shapes[s][0], K = shapes[s][1];
      float* x = malloc(sizeof(float) * T * K);
      float* w = malloc(sizeof(float) * N * K);
      float* y = malloc(sizeof(float) * T * N);
      for (long i = 0; i < (long)T * K; ++i) x[i] = (i % 13) * 0.01f;
      for (long i = 0; i < (long)N * K; ++i) w[i] = (i % 7) * 0.01f;
      const float one = 1, zero = 0;
      double best = 1e9;
      for (int r = 0; r < 7; ++r) {
        double t0 = now();
        // Column-major view: yᵀ[N,T] = wᵀ... i.e. C(N×T) = op(w)(N×K) · xᵀ(K×T) with w stored K-major.
        sgemm_("T", "N", &N, &T, &K, &one, w, &K, x, &K, &zero, y, &N);
        double dt = now() - t0;
        if (dt < best) best = dt;
      }
      double flops = 2.0 * T * N * K;
      flops_total += flops;
      seconds_total += best;
      printf("threads %d %-8s N=%-5d K=%-5d %7.2f ms %6.1f GFLOP/s\n", threads, names[s], N, K, best * 1e3,
             flops / best / 1e9);
      free(x);
      free(w);
      free(y);
    }
    printf("threads %d all four: %.1f GFLOP/s (best of 7 each)\n", threads, flops_total / seconds_total / 1e9);
  }
  return 0;
}
