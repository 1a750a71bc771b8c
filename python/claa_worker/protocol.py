"""The worker's side of claa-external-1: a hello, then one JSON line per request and per answer.

claa starts the worker once per run; its first stdout line is the hello::

    {"protocol": "claa-external-1", "needs": [...], "window": w, "columns": "all"|"drop_window",
     "combine": "mean"|"sum"|"max", "note": "..."}

then, per prompt layer, claa writes {"op": "score", "layer", "n_layers", "sample", "n_prompt",
"window", "n_kv_heads", "input", "output"}; the worker maps `input`, writes its scores [H_kv or 1, N]
as the F32 tensor "scores" of `output`, and answers {"ok": true} (or {"error": "one line"}).
{"op": "quit"} ends it. stdout carries only the protocol: print() goes to stderr.
"""

import json
import sys
import traceback

import numpy as np

from claa_worker.tensor_file import load_tensors, save_tensors

PROTOCOL = "claa-external-1"
# What claa can hand over per layer (shapes for one prompt of N tokens):
#   hidden_in [N, hidden] the hidden state entering the layer; queries [H, N, d] and keys [H_kv, N, d]
#   after RoPE (queries carry the model's attention scale x sqrt(d): q.k/sqrt(d) are its logits, so
#   config.attention_scale is not applied again); values [H_kv, N, d]; positions [N] (int64); window_rows [H, w, N] the softmax rows of the
#   last w queries (causal inside the window; w = the hello's "window").
#   weights: the layer's weights in HF layout, as layer.weights {"wq": [H*d, hidden], "wk", "wv", "wo",
#   "attn_norm", and "bq"/"bk"/"bv"/"q_norm"/"k_norm" where the model has them} plus layer.rope_inv_freq
#   [d/2] (the layer's own: a Gemma 3 sliding layer's local base, else the prompt prefill's; config's
#   rope_theta is the global base); layer.config then holds the model's n_heads, head_dim, hidden, rms_eps, rope_theta, ...
INPUTS = ("hidden_in", "queries", "keys", "values", "positions", "window_rows", "weights")


def heuristic(needs=("keys",), window=0, columns="all", combine="mean", note=""):
    """Declares what a scoring function reads and how claa treats its scores.

    needs:   the INPUTS the function reads (only those are captured and sent).
    window:  w of window_rows (needed when window_rows is).
    columns: "all" = every prompt token is ranked; "drop_window" = the last W (claa's forced window)
             are not (window scores, N' = N - W, as claa's snapkv).
    combine: how the per-head rows become the layer's ranking (mean, sum or max over rows).
    """
    unknown = [n for n in needs if n not in INPUTS]
    if unknown:
        raise ValueError(f"unknown inputs {unknown}; claa provides {list(INPUTS)}")
    if "window_rows" in needs and window <= 0:
        raise ValueError("window_rows needs a window > 0")

    def wrap(fn):
        fn.claa_spec = {"needs": list(needs), "window": int(window), "columns": columns, "combine": combine,
                        "note": note}
        return fn

    return wrap


def spec_of(fn):
    """The hello's fields of a function (@heuristic's, or every input for a plain function)."""
    return getattr(fn, "claa_spec", None) or {"needs": list(INPUTS[:5]), "window": 0, "columns": "all",
                                              "combine": "mean", "note": ""}


class Layer:
    """One layer's request: the tensors as attributes (numpy arrays mapping claa's file, copy-on-write:
    writing to one changes only the worker's copy) and the request's fields
    (layer, n_layers, sample, n_prompt, window, n_kv_heads)."""

    def __init__(self, tensors, fields):
        self.tensors = tensors
        self.weights = {k[len("weight."):]: v for k, v in tensors.items() if k.startswith("weight.")}
        self.__dict__.update({k: v for k, v in tensors.items() if not k.startswith("weight.")})
        for k, v in fields.items():
            if k not in ("op", "input", "output"):
                setattr(self, k, v)


def as_scores(result):
    """The function's result as float32 [rows, N] ([N] means one row)."""
    a = np.asarray(result, dtype=np.float32)
    return a[None, :] if a.ndim == 1 else a


def score_request(fn, request):
    tensors, _ = load_tensors(request["input"])
    scores = as_scores(fn(Layer(tensors, request)))
    save_tensors(request["output"], {"scores": scores})


def serve(fn, hello_extra=None, channel=None):
    """Answers claa's requests until {"op": "quit"} or the end of stdin."""
    out = channel or sys.stdout
    hello = {"protocol": PROTOCOL, **spec_of(fn), **(hello_extra or {})}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("op") == "quit":
            return
        try:
            score_request(fn, request)
            answer = {"ok": True}
        except Exception as e:  # every failure is one line for claa; the traceback goes to stderr
            traceback.print_exc(file=sys.stderr)
            answer = {"error": " ".join(f"{type(e).__name__}: {e}".split())}
        out.write(json.dumps(answer) + "\n")
        out.flush()
