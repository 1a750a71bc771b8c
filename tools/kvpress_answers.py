#!/usr/bin/env python3
"""Answers from kvpress's own pipeline (KVPressTextGenerationPipeline, "kv-press-text-generation": greedy,
fp32, HF transformers on the GGUF claa loads) for samples claa generated, so claa's `kvpress` pipelines
can be compared answer by answer.

A claa sample becomes kvpress's DataFrame row as kvpress's RULER data has it: context = the task text up
to and including the context (prompt_template before "{question}"), question = the text after it,
answer_prefix and max_new_tokens as the sample says. kvpress then applies the chat template itself and
tokenizes context and question apart (pipeline.py preprocess).

  ~/.venvs/ref/bin/python tools/kvpress_answers.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --samples s.jsonl --presses snapkv knorm --ratios 0.25 0.75 --out answers.json [--max-new-tokens 16]
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

from kvpress import (ExpectedAttentionPress, KnormPress, KVPressTextGenerationPipeline,  # noqa: E402
                     SnapKVPress, StreamingLLMPress)

PRESSES = {"snapkv": SnapKVPress, "knorm": KnormPress, "expected_attention": ExpectedAttentionPress,
           "streamingllm": StreamingLLMPress}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--presses", nargs="+", default=list(PRESSES))
    ap.add_argument("--ratios", nargs="+", type=float, default=[0.25, 0.75])
    ap.add_argument("--max-new-tokens", type=int, default=0, help="0 = the sample's budget")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tok, model = ref.load_model(args.gguf, torch.float32, "cpu")
    model.config._attn_implementation = "eager"
    pipe = KVPressTextGenerationPipeline(model=model, tokenizer=tok)
    samples = [json.loads(line) for line in open(args.samples) if line.strip()]
    from importlib.metadata import version
    out = {"kvpress_pipeline": "KVPressTextGenerationPipeline", "samples": os.path.basename(args.samples),
           "max_new_tokens": args.max_new_tokens, "kvpress": version("kvpress"),
           "transformers": version("transformers"), "torch": torch.__version__, "answers": []}
    for s in samples:
        template = s.get("prompt_template", "{context}\n\n{question}")
        head, tail = template.split("{question}")
        context = head.replace("{context}", s["context"])
        question = s["question"] + tail
        budget = args.max_new_tokens or s.get("max_new_tokens", 32)
        for name in args.presses:
            for ratio in args.ratios:
                press = PRESSES[name](compression_ratio=ratio)
                with torch.no_grad():
                    answer = pipe(context, question=question, answer_prefix=s.get("answer_prefix", ""), press=press,
                                  max_new_tokens=budget)["answer"]
                out["answers"].append({"id": s["id"], "press": name, "compression_ratio": ratio, "answer": answer})
                print(s["id"], name, ratio, repr(answer[:60]), flush=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)

if __name__ == "__main__":
    main()
