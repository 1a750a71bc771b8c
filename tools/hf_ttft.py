#!/usr/bin/env python3
"""HF transformers' full prefill TTFT on the same shapes and GPU, for comparison with
`claa bench ttft --methods full` (method.md §4 protocol: 3 warm-ups, 10 runs, mean without min and
max, CUDA synchronised). Random bf16 weights of the config's shape and architecture (its model_type:
llama, qwen3, ...; AutoConfig / AutoModelForCausalLM), SDPA attention, logits for the last position only
(as generation computes them).

Usage: python3 tools/hf_ttft.py --config configs/models/llama-3.1-8b.json --tokens 10240 32768 [--out F.json]
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/models/llama-3.1-8b.json")
    ap.add_argument("--tokens", type=int, nargs="+", default=[10240])
    ap.add_argument("--warmups", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out")
    args = ap.parse_args()
    from transformers import AutoConfig, AutoModelForCausalLM
    cfg_dict = {k: v for k, v in json.load(open(args.config)).items() if not k.startswith("_")}
    cfg = AutoConfig.for_model(cfg_dict.pop("model_type", "llama"), **cfg_dict)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg).to(torch.bfloat16).eval()
    print(f"{type(model).__name__} from {args.config}", flush=True)
    results = []
    for n in args.tokens:
        ids = torch.randint(10, cfg.vocab_size, (1, n), device="cuda")
        times = []
        with torch.no_grad():
            for i in range(args.warmups + args.runs):
                if i == args.warmups:
                    torch.cuda.reset_peak_memory_stats()
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
                int(out.logits[0, -1].argmax())
                torch.cuda.synchronize()
                if i >= args.warmups:
                    times.append(time.perf_counter() - t0)
                del out
        times.sort()
        trimmed = times[1:-1] if len(times) > 2 else times
        row = {"tokens": n, "ttft_ms": 1000 * sum(trimmed) / len(trimmed), "median_ms": 1000 * times[len(times) // 2],
               "peak_bytes": torch.cuda.max_memory_allocated(),
               "transformers": __import__("transformers").__version__, "torch": torch.__version__}
        results.append(row)
        print(f"HF transformers SDPA prefill, {n} tokens: {row['ttft_ms']:.1f} ms (median {row['median_ms']:.1f}), "
              f"peak {row['peak_bytes'] / 2**30:.2f} GiB", flush=True)
    if args.out:
        json.dump(results, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
