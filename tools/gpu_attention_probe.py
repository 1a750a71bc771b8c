#!/usr/bin/env python3
"""Which attention backend and which GEMM rates LibTorch gives on this GPU, and
where HF transformers' own prefill spends its time, measured rather than assumed.

  python3 tools/gpu_attention_probe.py --out DIR

1. Causal GQA attention at Llama-3.1-8B shapes (32 query heads, 8 KV heads, d = 128, bf16) for
   10K / 32K / 128K tokens through every SDPA backend LibTorch offers (flash, efficient, cuDNN,
   the default choice), with the KV heads shared (enable_gqa) or repeated, and with the queries
   laid out as claa holds them (a strided view of the fused q|k|v projection) or contiguous.
   CUDA-event timing, 2 warm-ups, median of 5; TFLOP/s counts the causal half (2·2·N²/2·H·d).
   Each backend's output is compared with the math-free reference (flash, repeated KV) at 10K.
2. The four GEMMs of one layer at 10K rows (qkv, o, gate|up, down): their TFLOP/s is the ceiling
   for ~85% of a prefill's FLOPs.
3. HF transformers' prefill at 10K under torch.profiler: GPU kernel time per kind, and the
   attention kernel it picks (the peer claa is compared with).
Writes DIR/attention.json, DIR/gemm.json, DIR/hf_profile.json and prints a summary.
With --gemm-rows N...: the GEMMs alone, plain and with the residual in the GEMM (DIR/gemm_rows.json).
With --gqa-only: shared vs repeated KV heads alone, alternating, with the kernels each launches
(DIR/gqa.json).
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

H, HKV, D = 32, 8, 128


def time_ms(fn, warmups=2, runs=5):
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(runs):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def attention_inputs(n, strided):
    g = torch.Generator(device="cuda").manual_seed(n)
    if strided:  # claa: one [T, (H + 2·H_kv)·d] projection, q/k/v are views of it
        qkv = torch.randn(n, (H + 2 * HKV) * D, device="cuda", dtype=torch.bfloat16, generator=g)
        q = qkv[:, : H * D].view(n, H, D).transpose(0, 1).unsqueeze(0)
        k = qkv[:, H * D:(H + HKV) * D].view(n, HKV, D).transpose(0, 1).contiguous().unsqueeze(0)
        v = qkv[:, (H + HKV) * D:].view(n, HKV, D).transpose(0, 1).contiguous().unsqueeze(0)
        return q, k, v
    q = torch.randn(1, H, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    k = torch.randn(1, HKV, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    v = torch.randn(1, HKV, n, D, device="cuda", dtype=torch.bfloat16, generator=g)
    return q, k, v


def run_variant(backend, gqa, q, k, v):
    if not gqa:
        k, v = k.repeat_interleave(H // HKV, dim=1), v.repeat_interleave(H // HKV, dim=1)
    if backend is None:
        return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)

    def call():
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
    return call


def probe_attention(sizes):
    backends = {"default": None, "flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION}
    rows = []
    for n in sizes:
        flops = 2 * 2 * n * n / 2 * H * D
        for strided in (False, True):
            q, k, v = attention_inputs(n, strided)
            reference = run_variant(SDPBackend.FLASH_ATTENTION, False, q, k, v)() if n <= 16384 else None
            for name, backend in backends.items():
                for gqa in (True, False):
                    row = {"tokens": n, "backend": name, "enable_gqa": gqa, "strided_q": strided}
                    try:
                        fn = run_variant(backend, gqa, q, k, v)
                        out = fn()
                        if reference is not None:
                            row["max_abs_diff_vs_flash"] = float((out.float() - reference.float()).abs().max())
                        del out
                        ms = time_ms(fn, runs=5 if n < 100000 else 3)
                        row.update(ms=ms, tflops=flops / ms / 1e9)
                    except Exception as e:  # a backend that refuses the shape says why
                        row["error"] = str(e).splitlines()[0][:200]
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            del q, k, v, reference
            torch.cuda.empty_cache()
    return rows


def probe_gqa(sizes, rounds=3):
    """Shared (enable_gqa) vs repeated KV heads under the default backend choice, alternating so
    that clock drift hits both alike, and the kernels each variant launches."""
    rows = []
    for n in sizes:
        q, k, v = attention_inputs(n, strided=False)
        variants = {gqa: run_variant(None, gqa, q, k, v) for gqa in (True, False)}
        times = {True: [], False: []}
        for _ in range(rounds):
            for gqa, fn in variants.items():
                times[gqa].append(time_ms(fn, warmups=1, runs=3 if n > 100000 else 5))
        for gqa, fn in variants.items():
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                fn()
                torch.cuda.synchronize()
            kernels = sorted(((e.device_time_total / 1000.0, e.key[:90]) for e in prof.key_averages()
                              if e.device_time_total > 0), reverse=True)[:3]
            row = {"tokens": n, "enable_gqa": gqa, "ms_per_round": times[gqa], "ms": statistics.median(times[gqa]),
                   "tflops": 2 * 2 * n * n / 2 * H * D / statistics.median(times[gqa]) / 1e9, "kernels_ms": kernels}
            rows.append(row)
            print(json.dumps(row), flush=True)
        del q, k, v, variants
        torch.cuda.empty_cache()
    return rows


def probe_gemm(n=10240):
    shapes = {"qkv": (4096, 6144), "o": (4096, 4096), "gate_up": (4096, 28672), "down": (14336, 4096)}
    rows = []
    for name, (k_in, n_out) in shapes.items():
        x = torch.randn(n, k_in, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n_out, k_in, device="cuda", dtype=torch.bfloat16) * 0.02
        ms = time_ms(lambda: F.linear(x, w), warmups=3, runs=10)
        rows.append({"gemm": name, "m": n, "k": k_in, "n": n_out, "ms": ms, "tflops": 2 * n * k_in * n_out / ms / 1e9})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def probe_gemm_residual(rows_list):
    """The layer's GEMMs at several row counts, as claa runs them: plain (F.linear) and with the
    residual as the GEMM's C operand (torch.addmm(x, a, w.t()), in place for the MLP's down
    projection), to see whether beta = 1 costs the GEMM speed."""
    shapes = {"qkv": (4096, 6144), "o": (4096, 4096), "gate_up": (4096, 28672), "down": (14336, 4096)}
    rows = []
    for n in rows_list:
        for name, (k_in, n_out) in shapes.items():
            x = torch.randn(n, k_in, device="cuda", dtype=torch.bfloat16)
            w = torch.randn(n_out, k_in, device="cuda", dtype=torch.bfloat16) * 0.02
            r = torch.randn(n, n_out, device="cuda", dtype=torch.bfloat16)
            flops = 2 * n * k_in * n_out
            row = {"gemm": name, "m": n, "linear_tflops": flops / time_ms(lambda: F.linear(x, w), 2, 5) / 1e9}
            if name in ("o", "down"):
                row["addmm_tflops"] = flops / time_ms(lambda: torch.addmm(r, x, w.t()), 2, 5) / 1e9
                row["addmm_inplace_tflops"] = flops / time_ms(lambda: r.addmm_(x, w.t()), 2, 5) / 1e9
            rows.append(row)
            print(json.dumps(row), flush=True)
            del x, w, r
        torch.cuda.empty_cache()
    return rows


def kernel_kind(name):
    low = name.lower()
    if any(s in low for s in ("flash", "fmha", "cudnn", "attention", "sdpa")):
        return "attention"
    if any(s in low for s in ("gemm", "nvjet", "cutlass", "xmma", "sm90", "cublas")):
        return "gemm"
    if any(s in low for s in ("copy", "cat", "index", "gather")):
        return "copies"
    if "reduce" in low or "mean" in low:
        return "reductions (norms)"
    return "elementwise"


def probe_hf(n, config_path):
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg_dict = {k: v for k, v in json.load(open(config_path)).items() if not k.startswith("_")}
    cfg = LlamaConfig(**cfg_dict)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16).eval()
    ids = torch.randint(10, cfg.vocab_size, (1, n), device="cuda")
    with torch.no_grad():
        for _ in range(2):
            model(input_ids=ids, use_cache=True, logits_to_keep=1)
        torch.cuda.synchronize()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            model(input_ids=ids, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
    kinds, names = {}, {}
    for e in prof.key_averages():
        t = e.device_time_total / 1000.0  # ms
        if t <= 0:
            continue
        kind = kernel_kind(e.key)
        kinds[kind] = kinds.get(kind, 0) + t
        names[e.key[:120]] = t
    top = sorted(names.items(), key=lambda kv: -kv[1])[:25]
    result = {"tokens": n, "ms_by_kind": kinds, "top_kernels_ms": top}
    print(json.dumps({"tokens": n, "ms_by_kind": kinds}), flush=True)
    for k, t in top[:12]:
        print(f"  {t:9.2f} ms  {k}")
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--tokens", type=int, nargs="+", default=[10240, 32768, 131072])
    ap.add_argument("--config", default="configs/models/llama-3.1-8b.json")
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--gqa-only", action="store_true", help="only the shared vs repeated KV comparison")
    ap.add_argument("--gemm-rows", type=int, nargs="*", help="only the GEMMs (plain and residual) at these row counts")
    a = ap.parse_args()
    print(torch.__version__, torch.version.cuda, torch.backends.cudnn.version(), torch.cuda.get_device_name())
    if a.gemm_rows:
        json.dump(probe_gemm_residual(a.gemm_rows), open(f"{a.out}/gemm_rows.json", "w"), indent=1)
        return
    if a.gqa_only:
        json.dump(probe_gqa(a.tokens), open(f"{a.out}/gqa.json", "w"), indent=1)
        return
    json.dump(probe_attention(a.tokens), open(f"{a.out}/attention.json", "w"), indent=1)
    json.dump(probe_gemm(), open(f"{a.out}/gemm.json", "w"), indent=1)
    if not a.skip_hf:
        json.dump(probe_hf(10240, a.config), open(f"{a.out}/hf_profile.json", "w"), indent=1)


if __name__ == "__main__":
    main()
