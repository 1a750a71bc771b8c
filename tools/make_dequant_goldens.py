#!/usr/bin/env python3
"""Golden cases for claa's ggml dequantisation, from gguf-py's own numpy dequantize().

For every supported type: random raw blocks (with sane f16 scales) and the floats gguf-py decodes
them to; plus a few values of real tensors of the default model. Output: tests/fixtures/model/dequant.json
Usage: python3 tools/make_dequant_goldens.py [--gguf PATH]
"""
import argparse
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize

BLOCK = {T.F32: (1, 4), T.F16: (1, 2), T.BF16: (1, 2), T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q8_0: (32, 34),
         T.Q4_K: (256, 144), T.Q6_K: (256, 210)}
# Byte offsets of f16 scale fields per block, overwritten with small finite values.
F16_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q8_0: [0], T.Q4_K: [0, 2], T.Q6_K: [208]}


def random_blocks(qtype, n_blocks, rng):
    values, size = BLOCK[qtype]
    if qtype == T.F32:
        return rng.standard_normal(n_blocks).astype("<f4").tobytes()
    if qtype == T.F16:
        return rng.standard_normal(n_blocks).astype("<f2").tobytes()
    if qtype == T.BF16:
        return (rng.standard_normal(n_blocks).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    raw = bytearray(rng.integers(0, 256, size=n_blocks * size, dtype=np.uint8).tobytes())
    for b in range(n_blocks):
        for off in F16_FIELDS[qtype]:
            scale = np.float16(rng.uniform(-0.1, 0.1)).tobytes()
            raw[b * size + off:b * size + off + 2] = scale
    return bytes(raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=os.path.expanduser("~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default="tests/fixtures/model/dequant.json")
    args = ap.parse_args()
    rng = np.random.default_rng(1234)
    cases = []
    for qtype, (values, size) in BLOCK.items():
        n_values = values * (3 if values > 1 else 40)
        raw = random_blocks(qtype, n_values // values, rng)
        out = dequantize(np.frombuffer(raw, dtype=np.uint8), qtype).reshape(-1)
        cases.append({"type": int(qtype), "name": qtype.name, "n": n_values, "hex": raw.hex(),
                      "values": [float(v) for v in out]})
    real = []
    reader = GGUFReader(args.gguf)
    for t in reader.tensors:
        if t.name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.3.ffn_down.weight", "output_norm.weight"):
            full = dequantize(t.data, t.tensor_type).reshape(-1).astype(np.float64)
            real.append({"name": t.name, "first": [float(v) for v in full[:64]], "sum": float(full.sum()),
                         "sum_abs": float(np.abs(full).sum()), "n": int(full.size)})
    with open(args.out, "w") as f:
        json.dump({"cases": cases, "real_tensors": real}, f)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
