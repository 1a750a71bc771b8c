// Selection: from a score vector to the token indices a pipeline keeps. Ties go to the lower
// index (method.md), and kept indices are returned in prompt order.
#pragma once

#include <ATen/ATen.h>

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

}  // namespace claa
