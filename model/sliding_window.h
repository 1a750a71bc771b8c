// Sliding-window attention of a prefill in bands of queries (Gemma 2/3 local layers, Mistral v0.1,
// Phi-3-mini-4k, Qwen2/3 with use_sliding_window). Query i sees keys j with i − window < j ≤ i (HF
// masking_utils: causal ∧ sliding_window_overlay), so a block of queries needs only the keys from
// its first query's window start to its last query: T·(block + window) work and a [block,
// block + window) mask, where one masked call over the whole prompt costs T² work and a T × T mask
// (1 GiB of mask at 32K tokens, and ~6× the attention time of Gemma 3's 1K windows).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace claa {

// softmax(q·kᵀ/√d + mask)·v with the window mask above; q [H, T, d], k and v [H_kv, T, d] (query
// head h reads KV head h / (H / H_kv), HF repeat_kv) → [H, T, d] in q's dtype. Queries go in blocks
// of `block` rows. Through LibTorch's scaled_dot_product_attention where it exists (LibTorch ≥ 2.5:
// cuDNN / memory-efficient kernels on the GPU), else each band explicitly in fp32.
at::Tensor sliding_window_prefill_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            int64_t window, int64_t block);

// The block size the model uses for a window: its own size, at least 1024 rows (measured on the GPU,
// docs/benchmarks.md "Sliding-window prefill").
int64_t sliding_window_block(int64_t window);

}  // namespace claa
