#!/usr/bin/env python3
"""Parity of claa on another device/dtype (e.g. CUDA bf16) with the fp32 HF fixture.

Runs `claa generate --prompt-ids ... --dump-logits` for every prompt of
tests/fixtures/model/model_reference.json and reports, per prompt: max |logit diff| over HF's
top-50 ids, whether the argmax agrees, and how many of the 32 greedy tokens agree (prefix and
total). Needs only the Python standard library.

Usage: python3 tools/device_parity.py --claa build/claa --model M --device cuda --dtype bf16 [--out report.json]
"""
import argparse
import array
import json
import os
import subprocess
import tempfile

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claa", default="build/claa")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--fixture", default="tests/fixtures/model/model_reference.json")
    ap.add_argument("--out")
    args = ap.parse_args()
    ref = json.load(open(args.fixture))
    results = {}
    for name, entry in ref["prompts"].items():
        steps = len(entry["greedy_tokens"])
        with tempfile.TemporaryDirectory() as tmp:
            dump = os.path.join(tmp, "logits.f32")
            out = subprocess.run([args.claa, "generate", "--model", args.model, "--device", args.device, "--dtype",
                                  args.dtype, "--prompt-ids", ",".join(map(str, entry["input_ids"])), "-n", str(steps),
                                  "--json", "--dump-logits", dump], capture_output=True, text=True, check=True)
            logits = array.array("f")
            with open(dump, "rb") as f:
                logits.frombytes(f.read())
        got = json.loads(out.stdout)
        tokens = got["tokens"]
        top = entry["logits"]
        diff = max(abs(logits[i] - v) for i, v in zip(top["top_ids"], top["top_values"]))
        argmax = max(range(len(logits)), key=logits.__getitem__)
        prefix = 0
        while prefix < min(len(tokens), steps) and tokens[prefix] == entry["greedy_tokens"][prefix]:
            prefix += 1
        results[name] = {"max_abs_diff_top50": diff, "argmax_agrees": argmax == top["top_ids"][0],
                         "greedy_prefix_agree": prefix, "greedy_steps": steps,
                         "prefill_seconds": got["prefill_seconds"]}
        print(f"{name}: max|diff| {diff:.4f}, argmax {'=' if argmax == top['top_ids'][0] else '!='}, "
              f"greedy tokens agree for {prefix}/{min(len(tokens), steps)} (claa stops at EOS)")
    if args.out:
        json.dump(results, open(args.out, "w"), indent=1)

if __name__ == "__main__":
    main()
