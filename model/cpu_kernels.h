// Fused CPU fp32 kernels for the element-wise parts of a decoder layer. Written out instead of
// composed from ATen ops because each ATen op is one pass over memory and one OpenMP parallel
// region: ~35 of them per layer, and on a 2-core machine shared with other work every region waits
// for both threads to be scheduled (docs/benchmarks.md, profile). Each kernel here is one pass and
// at most one region (none for small inputs). AVX2+FMA where the CPU has it (run-time check),
// portable loops otherwise; tests/model/test_cpu_kernels.cpp compares both with the ATen ops.
//
// Raw pointers keep this header free of torch; rows are `stride` floats apart.
#pragma once

#include <cstdint>

namespace claa::cpu {

// HF LlamaRMSNorm in fp32: out[r] = weight ⊙ (x[r] · 1/√(mean(x[r]²) + eps)).
void rms_norm(const float* x, int64_t x_stride, const float* weight, int64_t rows, int64_t dim, float eps, float* out,
              int64_t out_stride);

// HF rotate_half RoPE in place on `heads` consecutive head vectors (head_dim floats each) of every
// row: with halves (x1, x2), x1 ← x1·cos − x2·sin and x2 ← x2·cos + x1·sin, where cos/sin are the
// row's [head_dim/2] angles (HF's cat(freqs, freqs) tables hold each angle twice).
void rope_in_place(float* x, int64_t x_stride, int64_t rows, int64_t heads, int64_t head_dim, const float* cos,
                   const float* sin);

// SwiGLU activation: out[r][j] = silu(g) · u with g = gate_up[r][j], u = gate_up[r][ffn + j]
// (the fused gate/up projection's output), silu(g) = g / (1 + e^−g).
void silu_mul(const float* gate_up, int64_t gate_up_stride, int64_t rows, int64_t ffn, float* out, int64_t out_stride);

// How many threads an at::parallel_for region in claa's own code really uses at the current
// at::get_num_threads(). ATen's parallel_for is an inline template: compiled without -fopenmp it
// runs every range on one thread without a word (CMakeLists.txt links OpenMP for that reason), so
// `claa bench` prints this and a test checks it.
int parallel_width();

// Force the portable loops (tests compare both paths); default: AVX2+FMA when available.
void set_portable_only(bool portable);

}  // namespace claa::cpu
