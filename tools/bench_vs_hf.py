#!/usr/bin/env python3
"""Side-by-side CPU prefill: claa (`claa bench prefill`) against HF transformers in one run.

Both run the same GGUF (dequantised to fp32), the same thread count, a prompt of N tokens and the
logits of the last position only (what the first generated token needs). HF uses SDPA attention
(`attn_implementation="sdpa"`) under torch.inference_mode(). For each N the two are timed back to
back (HF first, then claa), each with warm-ups and the median of --runs, and the ratio
claa / HF time is printed (≤ 1.0 means claa is at least as fast).

Usage:
  ~/.venvs/ref/bin/python tools/bench_vs_hf.py --claa build/claa \
      --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf --tokens 1024 4096 8192 [--threads 2] [--out F.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import torch


def hf_prefill_seconds(model, n, vocab, warmups, runs):
    gen = torch.Generator().manual_seed(n)
    ids = torch.randint(10, vocab, (1, n), generator=gen)
    times = []
    with torch.inference_mode():
        for i in range(warmups + runs):
            t0 = time.perf_counter()
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            int(out.logits[0, -1].argmax())
            dt = time.perf_counter() - t0
            del out
            if i >= warmups:
                times.append(dt)
    return statistics.median(times), times


def claa_prefill_seconds(claa, gguf, n, threads, warmups, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [claa, "bench", "prefill", "--model", gguf, "--tokens", str(n), "--threads", str(threads),
               "--warmups", str(warmups), "--runs", str(runs), "--json", f.name]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        j = json.load(open(f.name))
    return j["median_seconds"], j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claa", default="build/claa")
    ap.add_argument("--gguf", default=os.path.expanduser("~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--tokens", type=int, nargs="+", default=[1024, 4096, 8192])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmups", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM
    import transformers
    folder, name = os.path.split(os.path.abspath(args.gguf))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="sdpa").eval()
    vocab = model.config.vocab_size
    print(f"HF transformers {transformers.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads, "
          f"SDPA, fp32) vs claa {args.claa}; {args.warmups} warm-up(s), median of {args.runs} runs", flush=True)
    print("| tokens | HF s | claa s | claa / HF |", flush=True)
    print("|---|---|---|---|", flush=True)
    rows = []
    for n in args.tokens:
        hf, hf_times = hf_prefill_seconds(model, n, vocab, args.warmups, args.runs)
        claa, claa_json = claa_prefill_seconds(args.claa, args.gguf, n, args.threads, args.warmups, args.runs)
        rows.append({"tokens": n, "hf_seconds": hf, "hf_runs": hf_times, "claa_seconds": claa, "ratio": claa / hf,
                     "claa": claa_json})
        print(f"| {n} | {hf:.3f} | {claa:.3f} | {claa / hf:.2f} |", flush=True)
    if args.out:
        meta = {"transformers": transformers.__version__, "torch": torch.__version__, "threads": args.threads,
                "load_average": os.getloadavg()}
        json.dump({"meta": meta, "rows": rows}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
