#!/usr/bin/env python3
"""Is causal attention faster on a Hopper GPU when cut into rectangles, and what holds it back?

  python3 tools/attention_split_probe.py --out DIR [--rates]

Causal GQA attention at Llama-3.1-8B shapes (32 query / 8 KV heads, d = 128, bf16) through cuDNN
(LibTorch's fastest backend here, tools/gpu_attention_probe.py), against the same attention cut
into query chunks of C rows, each seeing its own C keys causally and the keys before it as
non-causal blocks of B keys; the pieces' outputs are merged with their log-sum-exps
(o = Σ_j exp(lse_j − LSE)·o_j, LSE = log Σ_j exp(lse_j)), the identity FlashAttention's split-KV
decoding uses. Prints the time of the pieces alone ("attention only"), with the merge in plain
torch ops, and the largest difference from the uncut output. nvidia-smi logs the SM clock and
board power every 200 ms meanwhile (DIR/clocks.csv): under this load the H200 sits at its
~700 W limit and lowers its clock.
With --rates: single rectangles (C query rows × B keys, non-causal) and causal diagonal blocks,
each timed alone (DIR/rates.json).
"""
import argparse
import json
import subprocess
import time

import torch
import torch.nn.functional as F

from gpu_attention_probe import D, H, attention_inputs, time_ms


def cudnn(q, k, v, causal):
    """cuDNN attention with its log-sum-exp ([1, H, rows, 1], natural log); shares the KV heads."""
    r = torch.ops.aten._scaled_dot_product_cudnn_attention(q, k, v, None, True, 0.0, causal, False)
    return r[0], r[1]


def block_split(q, k, v, C, B, merge=True):
    n = q.shape[2]
    res = torch.empty_like(q)
    for i in range(n // C):
        s = slice(i * C, (i + 1) * C)
        o, lse = cudnn(q[:, :, s], k[:, :, s], v[:, :, s], True)
        acc, L = (o.float(), lse.reshape(1, H, C, 1)) if merge else (o, None)
        for j0 in range(0, i * C, B):
            j1 = min(j0 + B, i * C)
            op, lp = cudnn(q[:, :, s], k[:, :, j0:j1], v[:, :, j0:j1], False)
            if merge:
                lp = lp.reshape(1, H, C, 1)
                L_new = torch.logaddexp(L, lp)
                acc = acc * torch.exp(L - L_new) + op.float() * torch.exp(lp - L_new)
                L = L_new
        res[:, :, s] = acc.to(q.dtype) if merge else acc
    return res


def probe_split(sizes, shapes):
    rows = []
    for n in sizes:
        q, k, v = attention_inputs(n, strided=False)
        flops = 2 * 2 * n * n / 2 * H * D
        whole = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        reference = whole()
        runs = 8 if n > 100000 else 20
        for label in ("causal", "split", "causal again"):
            if label != "split":
                ms = time_ms(whole, warmups=1, runs=runs)
                rows.append({"tokens": n, "what": label, "t0": time.time(), "ms": ms, "tflops": flops / ms / 1e9})
                print(json.dumps(rows[-1]), flush=True)
                continue
            for C, B in shapes:
                if C > n // 2:
                    continue
                err = float((block_split(q, k, v, C, B).float() - reference.float()).abs().max())
                ms = time_ms(lambda: block_split(q, k, v, C, B, merge=False), warmups=1, runs=runs)
                merged = time_ms(lambda: block_split(q, k, v, C, B), warmups=1, runs=3)
                rows.append({"tokens": n, "what": "block split", "C": C, "B": B, "ms_attention_only": ms,
                             "tflops": flops / ms / 1e9, "ms_with_torch_merge": merged, "max_abs_diff": err})
                print(json.dumps(rows[-1]), flush=True)
        del q, k, v, reference
        torch.cuda.empty_cache()
    return rows


def probe_rates(sizes):
    rows = []
    for n in sizes:
        q, k, v = attention_inputs(n, strided=False)
        for C in (4096, 8192, 16384, 32768):
            if C > n // 2:
                continue
            for L in sorted({C, n // 4, n // 2, n - C}):
                if L < C:
                    continue
                ms = time_ms(lambda: cudnn(q[:, :, n - C:], k[:, :, :L], v[:, :, :L], False), warmups=1)
                rows.append({"tokens": n, "what": "rectangle", "q": C, "k": L, "ms": ms,
                             "tflops": 2 * 2 * C * L * H * D / ms / 1e9})
                print(json.dumps(rows[-1]), flush=True)
            ms = time_ms(lambda: cudnn(q[:, :, :C], k[:, :, :C], v[:, :, :C], True), warmups=1)
            rows.append({"tokens": n, "what": "causal diagonal", "q": C, "ms": ms, "tflops": 2 * C * C * H * D / ms / 1e9})
            print(json.dumps(rows[-1]), flush=True)
        del q, k, v
        torch.cuda.empty_cache()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--tokens", type=int, nargs="+", default=[32768, 131072])
    ap.add_argument("--rates", action="store_true", help="single rectangles and diagonal blocks, timed alone")
    a = ap.parse_args()
    print(torch.__version__, torch.backends.cudnn.version(), torch.cuda.get_device_name(), flush=True)
    smi = subprocess.Popen(["nvidia-smi", "--query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu",
                            "--format=csv,noheader", "-lms", "200"], stdout=open(f"{a.out}/clocks.csv", "w"))
    try:
        if a.rates:
            json.dump(probe_rates(a.tokens), open(f"{a.out}/rates.json", "w"), indent=1)
        else:
            shapes = [(4096, 32768), (8192, 32768), (8192, 16384), (8192, 65536), (16384, 32768), (4096, 16384)]
            json.dump(probe_split(a.tokens, shapes), open(f"{a.out}/split.json", "w"), indent=1)
    finally:
        smi.terminate()


if __name__ == "__main__":
    main()
