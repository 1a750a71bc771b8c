"""Two heuristics in numpy, written from kvpress's press files (NVIDIA/kvpress 0.5.5), as examples of
the protocol and CI's check of it against claa's C++ heuristics (tests/heuristics/test_external.cpp).

    claa rank ... --heuristics 'python:claa_worker.examples:knorm,python:claa_worker.examples:snapkv'
"""

import numpy as np

from claa_worker.protocol import heuristic


@heuristic(needs=("keys",))
def knorm(layer):
    """kvpress presses/knorm_press.py: score = -||k||_2 per KV head and token."""
    return -np.linalg.norm(layer.keys.astype(np.float64), axis=-1)


def avg_pool1d(x, kernel):
    """torch.nn.functional.avg_pool1d(x, kernel, stride=1, padding=kernel // 2) over the last axis:
    zero padding counted in the mean (count_include_pad), output length N + 2p - k + 1."""
    p = kernel // 2
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(p, p)])
    c = np.cumsum(np.pad(padded, [(0, 0)] * (x.ndim - 1) + [(1, 0)]), axis=-1)
    return (c[..., kernel:] - c[..., :-kernel]) / kernel


SNAPKV_WINDOW, SNAPKV_KERNEL = 64, 5


@heuristic(needs=("window_rows",), window=SNAPKV_WINDOW, columns="drop_window", combine="sum")
def snapkv(layer):
    """kvpress presses/snapkv_press.py with its defaults (window_size 64, kernel_size 5): the window
    queries' attention to the keys before the window, averaged over the window, avg-pooled, averaged
    over each KV head's query group; the window itself padded with max + 1."""
    rows = layer.window_rows.astype(np.float64)  # [H, w, N]
    h, w, n = rows.shape
    scores = rows[:, :, : n - w].mean(axis=1)  # attn_weights.mean(dim=-2), [H, N - w]
    scores = avg_pool1d(scores, SNAPKV_KERNEL)
    scores = scores.reshape(layer.n_kv_heads, h // layer.n_kv_heads, n - w).mean(axis=1)
    return np.pad(scores, [(0, 0), (0, w)], constant_values=scores.max() + 1)
