"""A test harness for heuristics, without claa: run a scoring function through the protocol's files
on synthetic (or given) tensors and apply the checks claa applies to a worker's answer.

    from claa_worker.testing import check
    scores = check(my_heuristic)                    # random tensors of a small GQA model
    scores = check(my_heuristic, tensors={...})     # your own
"""

import os
import tempfile

import numpy as np

from claa_worker.protocol import as_scores, Layer, spec_of
from claa_worker.tensor_file import load_tensors, save_tensors


def window_rows(queries, keys, w):
    """Softmax rows of the last w queries over all keys, causal inside the window: [H, w, N]."""
    h, n, d = queries.shape
    g = h // keys.shape[0]
    k = np.repeat(keys, g, axis=0)
    logits = np.einsum("hwd,hnd->hwn", queries[:, n - w:], k) / np.sqrt(d)
    future = np.triu(np.ones((w, w), bool), 1)
    logits[:, :, n - w:][:, future] = -np.inf
    logits -= logits.max(-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(-1, keepdims=True)


def synthetic(spec, n_prompt=256, n_heads=6, n_kv_heads=2, head_dim=16, hidden=48, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n_heads, n_prompt, head_dim)).astype(np.float32)
    k = rng.standard_normal((n_kv_heads, n_prompt, head_dim)).astype(np.float32)
    all_inputs = {
        "hidden_in": rng.standard_normal((n_prompt, hidden)).astype(np.float32),
        "queries": q,
        "keys": k,
        "values": rng.standard_normal((n_kv_heads, n_prompt, head_dim)).astype(np.float32),
        "positions": np.arange(n_prompt, dtype=np.int64),
    }
    if "window_rows" in spec["needs"]:
        all_inputs["window_rows"] = window_rows(q, k, min(spec["window"], n_prompt - 1)).astype(np.float32)
    return {name: all_inputs[name] for name in spec["needs"]}


def check(fn, tensors=None, layer=0, n_layers=1, window=8, **shape):
    """Scores of fn on one layer, through the files; AssertionError on what claa would refuse."""
    spec = spec_of(fn)
    tensors = tensors if tensors is not None else synthetic(spec, **shape)
    n_kv_heads = next((t.shape[0] for n, t in tensors.items() if n in ("keys", "values")), shape.get("n_kv_heads", 2))
    n_prompt = next(t.shape[-1] if n == "window_rows" else t.shape[0 if n in ("hidden_in", "positions") else 1]
                    for n, t in tensors.items())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "input.safetensors")
        save_tensors(path, {n: t for n, t in tensors.items() if n != "positions"})
        loaded, _ = load_tensors(path)
        if "positions" in tensors:
            loaded["positions"] = np.asarray(tensors["positions"])
        fields = {"layer": layer, "n_layers": n_layers, "sample": 0, "n_prompt": n_prompt, "window": window,
                  "n_kv_heads": n_kv_heads}
        scores = as_scores(fn(Layer(loaded, fields)))
        out = os.path.join(folder, "scores.safetensors")
        save_tensors(out, {"scores": scores})
        scores = np.array(load_tensors(out)[0]["scores"])
    assert scores.ndim == 2 and scores.shape[0] in (1, n_kv_heads) and scores.shape[1] == n_prompt, (
        f"scores have shape {list(scores.shape)}, expected [{n_kv_heads}, {n_prompt}] or [1, {n_prompt}]")
    assert np.isfinite(scores).all(), f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite"
    return scores
