"""Workers for tests/heuristics/test_external.cpp: every way a worker can fail, and one that prints."""

import os
import signal
import sys
import time

import numpy as np

from claa_worker import heuristic


@heuristic(needs=("keys",))
def raises(layer):
    if layer.layer == 2:
        raise ValueError("no score for layer 2\nsecond line")
    return -np.linalg.norm(layer.keys, axis=-1)


@heuristic(needs=("keys",))
def wrong_shape(layer):
    return np.zeros((layer.keys.shape[0] + 1, layer.keys.shape[1]))


@heuristic(needs=("keys",))
def nan_scores(layer):
    s = -np.linalg.norm(layer.keys, axis=-1)
    s[0, 3] = np.nan
    return s


@heuristic(needs=("keys",))
def sleeps(layer):
    time.sleep(60)


@heuristic(needs=("keys",))
def exits(layer):
    os._exit(3)


@heuristic(needs=("keys",))
def segfaults(layer):
    os.kill(os.getpid(), signal.SIGSEGV)


@heuristic(needs=("keys",))
def prints(layer):
    print("chatty heuristic: layer", layer.layer)  # must not break the protocol (stdout is claa's)
    return -np.linalg.norm(layer.keys, axis=-1)


@heuristic(needs=("keys",))
def fails_on_second_sample(layer):
    if layer.sample >= 1:
        raise RuntimeError("second sample refused")
    return -np.linalg.norm(layer.keys, axis=-1)


@heuristic(needs=("hidden_in", "queries", "keys", "values", "positions", "window_rows"), window=16)
def echo_shapes(layer):
    """Checks every input's shape against the request's fields, and returns hidden_in's norm."""
    n, h_kv = layer.n_prompt, layer.n_kv_heads
    assert layer.hidden_in.shape[0] == n, layer.hidden_in.shape
    assert layer.queries.shape[1] == n and layer.keys.shape[:2] == (h_kv, n), (layer.queries.shape, layer.keys.shape)
    assert layer.values.shape[:2] == (h_kv, n) and layer.positions.dtype == np.int64
    assert (layer.positions == np.arange(n)).all()
    assert layer.window_rows.shape == (layer.queries.shape[0], 16, n)
    assert np.allclose(layer.window_rows.sum(-1), 1, atol=1e-5)
    layer.hidden_in[0, 0] += 0  # writable, as the protocol promises (copy-on-write: claa's file is unchanged)
    return np.linalg.norm(layer.hidden_in, axis=-1)[None, :]


@heuristic(needs=("keys",), combine="sum")
def pins_max(layer):
    """Pins the first 5 tokens to float32's maximum in every row, as CriticalKVPress pins its first stage."""
    s = -np.linalg.norm(layer.keys, axis=-1)
    s[:, :5] = np.finfo(np.float32).max
    return s


@heuristic(needs=("hidden_in", "keys", "values", "positions", "weights"))
def reads_layer_inputs(layer):
    """What a kvpress press is sent, read and answered with zeros: the protocol's own cost (benchmarks.md)."""
    total = float(layer.hidden_in.sum()) + float(layer.keys.sum()) + float(layer.values.sum())
    return np.zeros((layer.keys.shape[0], layer.keys.shape[1])) + 0 * total


@heuristic(needs=("weights",))
def rope_frequency(layer):
    """Every key scores the layer's second RoPE inverse frequency, θ^(-2/d) / factor: tells the bases apart."""
    return np.full((layer.n_kv_heads, layer.n_prompt), layer.rope_inv_freq[1])
