#!/usr/bin/env python3
"""FlashAttention-3's Hopper kernel against cuDNN's fused attention (LibTorch's fastest,
docs/benchmarks.md §GPU prefill 2) on this GPU, under the power limit a prefill runs at.

  python3 tools/flash_attention/fa3_vs_cudnn.py --lib libclaa_fa3_probe.so --out DIR [--tokens N ...]

(the library: tools/flash_attention/build_probe_lib.sh, claa's launcher behind a C entry point)

Llama-3.1-8B shapes (32 query heads, 8 KV heads, d = 128, bf16), causal, one sequence, laid out as
claa's layer holds them (queries a strided view of the fused q|k|v rows, keys and values per head):
1. agreement: FA3's and cuDNN's outputs against an fp32 reference at 2K tokens, and FA3 against
   cuDNN at each length;
2. each kernel alone on the same prepared inputs, CUDA events, median of 5 (3 at >= 64K), the two
   kernels alternating;
3. a prefill's sustained load: 32 "layers" back to back, each the layer's GEMMs (q|k|v, o,
   gate|up in 16K-row chunks, down: claa's prefill, with one random layer's weights), the KV copies
   and the attention by one kernel or the other, its output as claa's o projection reads it;
   whole-stack time per kernel, rounds alternating so that both meet the same power state.
Writes DIR/fa3_vs_cudnn.json and prints a summary.
"""
import argparse
import ctypes
import json
import statistics
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gpu_attention_probe import time_ms  # noqa: E402

H, HKV, D = 32, 8, 128
HIDDEN, FFN, LAYERS, MLP_CHUNK = 4096, 14336, 32, 16384


class FA3:
    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(lib_path)
        f = self.lib.claa_probe_fa3
        f.restype = ctypes.c_char_p
        f.argtypes = ([ctypes.c_void_p, ctypes.c_longlong, ctypes.c_longlong] * 3 + [ctypes.c_void_p] * 3 +
                      [ctypes.c_int] * 3 + [ctypes.c_float, ctypes.c_int, ctypes.c_void_p])
        self.scheduler = torch.zeros(16, dtype=torch.int32, device="cuda")
        self.num_sm = torch.cuda.get_device_properties(0).multi_processor_count

    def __call__(self, q, k, v, out, lse):
        """q [H, n, D], k and v [HKV, n, D] (any row / head strides); out [n, H, D] contiguous."""
        n = q.shape[1]
        error = self.lib.claa_probe_fa3(
            q.data_ptr(), q.stride(1), q.stride(0), k.data_ptr(), k.stride(1), k.stride(0),
            v.data_ptr(), v.stride(1), v.stride(0), out.data_ptr(), lse.data_ptr(), self.scheduler.data_ptr(),
            n, H, HKV, D ** -0.5, self.num_sm, torch.cuda.current_stream().cuda_stream)
        if error is not None:
            raise RuntimeError(f"FA3 call failed: {error.decode()}")
        return out


def split_heads(qkv, n):
    """As claa's layer holds them: queries a strided view of the fused q|k|v rows [H, n, D]; keys and
    values copied per head [HKV, n, D], as the KV cache append does (in either path)."""
    q = qkv[:, : H * D].view(n, H, D).transpose(0, 1)
    k = qkv[:, H * D:(H + HKV) * D].view(n, HKV, D).transpose(0, 1).contiguous()
    v = qkv[:, (H + HKV) * D:].view(n, HKV, D).transpose(0, 1).contiguous()
    return q, k, v


def cudnn(q, k, v):
    """claa's SDPA call → [1, H, n, D]."""
    with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
        return F.scaled_dot_product_attention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), is_causal=True,
                                              enable_gqa=True)


def outputs(n):
    return (torch.empty(n, H, D, device="cuda", dtype=torch.bfloat16),
            torch.empty(H, n, device="cuda", dtype=torch.float32))


def fp32_reference(qkv, n):
    q = qkv[:, : H * D].float().view(n, H, D).transpose(0, 1)
    k = qkv[:, H * D:(H + HKV) * D].float().view(n, HKV, D).transpose(0, 1).repeat_interleave(H // HKV, 0)
    v = qkv[:, (H + HKV) * D:].float().view(n, HKV, D).transpose(0, 1).repeat_interleave(H // HKV, 0)
    s = (q @ k.transpose(1, 2)) * D ** -0.5
    s.masked_fill_(torch.ones(n, n, dtype=torch.bool, device="cuda").triu(1), float("-inf"))
    return (s.softmax(-1) @ v).transpose(0, 1).reshape(n, H * D)


def fused_rows(n, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(n, (H + 2 * HKV) * D, device="cuda", dtype=torch.bfloat16, generator=g)


def check_agreement(fa3, sizes):
    """Both kernels against fp32 at 2K; FA3 against cuDNN at each length. Outputs as [n, H·D] rows."""
    rows = []
    n = 2048
    qkv = fused_rows(n, 1)
    ref = fp32_reference(qkv, n)
    q, k, v = split_heads(qkv, n)
    rows.append({"tokens": n,
                 "fa3_vs_fp32": (fa3(q, k, v, *outputs(n)).view(n, H * D).float() - ref).abs().max().item(),
                 "cudnn_vs_fp32": (cudnn(q, k, v)[0].transpose(0, 1).reshape(n, H * D).float() - ref)
                 .abs().max().item()})
    for n in sizes:
        q, k, v = split_heads(fused_rows(n, 2), n)
        a = fa3(q, k, v, *outputs(n)).float()
        b = cudnn(q, k, v)[0].transpose(0, 1).float()
        rows.append({"tokens": n, "fa3_vs_cudnn": (a - b).abs().max().item(),
                     "fa3_vs_cudnn_mean": (a - b).abs().mean().item()})
        del q, k, v, a, b
    return rows


def probe_single(fa3, sizes, rounds=3):
    """The kernels alone: the same prepared inputs, each writing its own output, nothing else timed."""
    rows = []
    for n in sizes:
        q, k, v = split_heads(fused_rows(n, 3), n)
        out, lse = outputs(n)
        runs = 3 if n >= 65536 else 5
        times = {"fa3": [], "cudnn": []}
        for _ in range(rounds):
            times["cudnn"].append(time_ms(lambda: cudnn(q, k, v), warmups=1, runs=runs))
            times["fa3"].append(time_ms(lambda: fa3(q, k, v, out, lse), warmups=1, runs=runs))
        flops = 2 * 2 * n * n / 2 * H * D
        row = {"tokens": n}
        for name, ts in times.items():
            row[f"{name}_ms"] = statistics.median(ts)
            row[f"{name}_tflops"] = flops / (row[f"{name}_ms"] * 1e-3) / 1e12
        rows.append(row)
        del q, k, v, out, lse
    return rows


def layer_weights():
    g = torch.Generator(device="cuda").manual_seed(7)
    w = lambda r, c: torch.randn(r, c, device="cuda", dtype=torch.bfloat16, generator=g) * 0.02  # noqa: E731
    return {"qkv": w((H + 2 * HKV) * D, HIDDEN), "o": w(HIDDEN, H * D),
            "gate_up": w(2 * FFN, HIDDEN), "down": w(HIDDEN, FFN)}


def stack(n, weights, x, attention):
    """32 layers of claa's prefill: GEMMs, the KV copies, one attention kernel, and the output rows
    as claa's o projection reads them (SDPA's [1, H, n, D] reshaped; FA3 writes [n, H, D] rows).
    Norms and RoPE are left out (2% of a prefill)."""
    for _ in range(LAYERS):
        qkv = F.linear(x, weights["qkv"])
        attn = attention(*split_heads(qkv, n))
        del qkv
        x = torch.addmm(x, attn, weights["o"].t())
        del attn
        for start in range(0, n, MLP_CHUNK):
            rows = x[start:start + MLP_CHUNK]
            gate, up = F.linear(rows, weights["gate_up"]).chunk(2, dim=-1)
            rows.addmm_(F.silu(gate) * up, weights["down"].t())
            del gate, up
    return x


def probe_stack(fa3, sizes, rounds=3):
    weights = layer_weights()
    rows = []
    for n in sizes:
        x = torch.randn(n, HIDDEN, device="cuda", dtype=torch.bfloat16) * 0.1
        out, lse = outputs(n)
        kernels = {"cudnn": lambda q, k, v: cudnn(q, k, v)[0].transpose(0, 1).reshape(n, H * D),
                   "fa3": lambda q, k, v: fa3(q, k, v, out, lse).view(n, H * D)}
        times = {name: [] for name in kernels}
        for _ in range(rounds):
            for name, attention in kernels.items():
                times[name].append(time_ms(lambda: stack(n, weights, x.clone(), attention), warmups=1, runs=1))
        row = {"tokens": n, "rounds": rounds}
        for name, ts in times.items():
            row[f"{name}_ms"] = statistics.median(ts)
            row[f"{name}_all_ms"] = ts
        row["fa3_over_cudnn"] = row["fa3_ms"] / row["cudnn_ms"]
        rows.append(row)
        del x, out, lse
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tokens", type=int, nargs="+", default=[10240, 32768, 131072])
    parser.add_argument("--stack-tokens", type=int, nargs="*", default=[10240, 32768, 131072])
    args = parser.parse_args()
    fa3 = FA3(args.lib)
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "cudnn": torch.backends.cudnn.version()}
    result["agreement"] = check_agreement(fa3, args.tokens)
    print(json.dumps(result["agreement"]), flush=True)
    result["single"] = probe_single(fa3, args.tokens)
    for row in result["single"]:
        print(f"attention {row['tokens']:>7}: cuDNN {row['cudnn_ms']:8.2f} ms ({row['cudnn_tflops']:.0f} TFLOP/s)"
              f"  FA3 {row['fa3_ms']:8.2f} ms ({row['fa3_tflops']:.0f})", flush=True)
    result["stack"] = probe_stack(fa3, args.stack_tokens)
    for row in result["stack"]:
        print(f"32-layer stack {row['tokens']:>7}: cuDNN {row['cudnn_ms']:9.1f} ms  FA3 {row['fa3_ms']:9.1f} ms"
              f"  ratio {row['fa3_over_cudnn']:.3f}  (all: {row['cudnn_all_ms']} / {row['fa3_all_ms']})", flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "fa3_vs_cudnn.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
