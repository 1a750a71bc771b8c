// Smoothing of per-token scores along the token axis, shared by the oracle (method.md §1: pool 13)
// and the heuristics that pool (FastKV / SnapKV kernels, GemFilter, CLAA's rows).
#pragma once

#include <ATen/ATen.h>

namespace claa {

// 1-D average pool along the last axis, stride 1, padding k/2, zero padding counted
// (PyTorch avg_pool1d defaults, as the authors' code uses). Identity when k <= 1 or the vector is
// shorter than k.
at::Tensor avg_pool_last(const at::Tensor& x, int kernel);

}  // namespace claa
