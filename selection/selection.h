// Selection: from a score vector to the token indices a pipeline keeps. Ties go to the lower
// index (method.md), and kept indices are returned in prompt order.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace claa {

// Indices of the k largest scores (ties → lower index), sorted ascending. scores [M] (any device).
at::Tensor top_k_sorted(const at::Tensor& scores, int64_t k);

// The FastKV rule for a prompt of n tokens: the last `window` tokens plus the top (c − window) of
// `scores` restricted to the first n − window positions (scores may be longer or shorter: window
// scores have n − window entries). Returns sorted int64 [c].
at::Tensor keep_window_plus_top(const at::Tensor& scores, int64_t n, int64_t c, int64_t window);

// Per KV head: rows [H_kv, M] → [H_kv, c], each row as keep_window_plus_top.
at::Tensor keep_window_plus_top_per_row(const at::Tensor& rows, int64_t n, int64_t c, int64_t window);

// Speculative Prefill's chunked selection: average scores over `chunk`-token chunks, keep the best
// chunks until c tokens are covered (the last chosen chunk may be cut), sorted.
at::Tensor top_chunks_sorted(const at::Tensor& scores, int64_t c, int64_t chunk);

// PyramidKV's per-layer budget (KVCache-Factory pyramidkv/pyramidkv_utils.py, PyramidKVCluster):
// with `free` the uniform per-layer budget beyond the window and `len` the candidate positions,
// min = ⌊free / β⌋, max = 2·free − min; if max ≥ len then max = len, min = 2·free − max;
// steps = ⌊(max − min) / (L − 1)⌋; layer l keeps max − l·steps (integer arithmetic as there).
int64_t pyramid_layer_budget(int64_t free, int64_t len, int layer, int n_layers, double beta);

// AdaKV's head-adaptive selection (AdaKV, Feng et al. 2024, arXiv 2407.11550; kvpress
// presses/adakv_press.py): rows [H_kv, M] of scores comparable across heads; a layer budget of
// H_kv·(c − window) free slots. Each head first keeps its top ⌊(c − window)·alpha⌋ (the safeguard),
// the remaining slots go to the best (head, token) pairs over all heads (ties → lower head, then
// lower token); every head also keeps the last `window` tokens. Per head: sorted int64 indices,
// lengths differ between heads.
std::vector<at::Tensor> keep_adaptive_per_head(const at::Tensor& rows, int64_t n, int64_t c, int64_t window,
                                               double alpha);

}  // namespace claa
