// The fused CPU attention's arguments (cpu_attention.h) taken from tensors, for the model and the
// tests alike. Separate from cpu_attention.h so that header stays free of torch.
#pragma once

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "model/cpu_attention.h"

namespace claa::cpu {

// One operand's base pointer and its head and row strides (the layout AttentionArgs documents).
template <typename Pointer>
void take_operand(const at::Tensor& t, Pointer& base, int64_t& head_stride, int64_t& row_stride) {
  base = t.data_ptr<float>();
  head_stride = t.stride(0);
  row_stride = t.stride(1);
}

// Every operand viewed as [heads, rows, d] with any head and row strides but contiguous features:
// q [H, T, d], k and v [H_kv, S, d] (the T new keys last), out [H, T, d] (written). fp32 on the CPU.
// Scale 1/√d, the best ISA, no column sums and no BLAS products unless the caller sets them.
inline AttentionArgs attention_args(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& out) {
  for (const at::Tensor* t : {&q, &k, &v, &out})
    require(t->dim() == 3 && t->stride(2) == 1 && t->scalar_type() == at::kFloat && t->device().is_cpu(),
            "attention_args: operands must be fp32 CPU [heads, rows, d] with contiguous rows");
  AttentionArgs a;
  take_operand(q, a.q, a.q_head_stride, a.q_row_stride);
  take_operand(k, a.k, a.k_head_stride, a.k_row_stride);
  take_operand(v, a.v, a.v_head_stride, a.v_row_stride);
  take_operand(out, a.out, a.out_head_stride, a.out_row_stride);
  a.n_heads = q.size(0);
  a.n_kv_heads = k.size(0);
  a.n_queries = q.size(1);
  a.n_keys = k.size(1);
  a.head_dim = q.size(2);
  a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.head_dim)));
  a.isa = best_isa();
  return a;
}

}  // namespace claa::cpu
