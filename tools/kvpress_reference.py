#!/usr/bin/env python3
"""Golden scores from kvpress itself (NVIDIA/kvpress, PyPI kvpress 0.5.5): each press's own
`score`, called by its own forward hooks during a prefill of SmolLM2 (HF transformers, eager fp32,
the GGUF claa loads) on the needle_a prompt of tools/hf_reference.py.

Nothing here recomputes a formula: every press is kvpress's class, run as kvpress runs it
(`with press(model): model(ids, past_key_values=DynamicCache())`), and the `score` method it calls
is wrapped only to keep a copy of what it returned, per layer ([H_kv, N] scores, batch 1).

Presses, at kvpress's defaults (claa preset "kvpress") and, where a press can express them, at
claa's own defaults:
  snapkv              SnapKVPress()                       window 64, avg pool 5
  snapkv_w32k7        SnapKVPress(window_size=32, kernel_size=7)  claa's window/kernel (kvpress pools by avg only)
  pyramidkv           PyramidKVPress()                    its scores are SnapKV's (window 64, avg pool 5)
  adakv               AdaKVPress(SnapKVPress())           the scores its head-adaptive selection ranks (sdpa:
                                                          kvpress refuses eager for Ada-KV)
  expected_attention  ExpectedAttentionPress()            n_future 512, n_sink 4, covariance, ‖v‖ (= claa's)
  knorm               KnormPress()
  tova                TOVAPress()
  streamingllm        StreamingLLMPress(compression_ratio=0.5)  1 = kept, 0 = pruned (its score is a mask)
claa's max-pool defaults (SnapKV repo, KVCache-Factory) are not a kvpress press: tools/hf_reference_breadth.py
covers them. KVzip needs its own pipeline in kvpress: tools/hf_reference_kvzip.py covers it.

Writes tests/fixtures/model/kvpress_reference.{json,f32}. CPU, about a minute:
  ~/.venvs/ref/bin/python tools/kvpress_reference.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --out tests/fixtures/model
The tiny random HF models (tools/make_tiny_models.py; their reference.json's input_ids, 150 tokens):
  ~/.venvs/ref/bin/python tools/kvpress_reference.py --tiny tests/fixtures/model/tiny --out tests/fixtures/model/tiny
writes tests/fixtures/model/tiny/kvpress_reference_{llama3,qwen2,mistral,qwen3,phi3}.{json,f32} (--kinds K...
to regenerate only some; kvpress's presses read Qwen3's pre-RoPE queries through its q_norm).
"""

import json
import os
import struct
import sys
from importlib.metadata import version

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

from kvpress import (AdaKVPress, ExpectedAttentionPress, KnormPress, PyramidKVPress,  # noqa: E402
                     SnapKVPress, StreamingLLMPress, TOVAPress)
from transformers import DynamicCache  # noqa: E402

RATIO = 0.5  # a press only scores when it compresses; the ratio does not change the scores


def presses():
    return {
        "snapkv": (SnapKVPress(compression_ratio=RATIO), "eager"),
        "snapkv_w32k7": (SnapKVPress(compression_ratio=RATIO, window_size=32, kernel_size=7), "eager"),
        "pyramidkv": (PyramidKVPress(compression_ratio=RATIO), "eager"),
        "adakv": (AdaKVPress(SnapKVPress(compression_ratio=RATIO)), "sdpa"),
        "expected_attention": (ExpectedAttentionPress(compression_ratio=RATIO), "eager"),
        "knorm": (KnormPress(compression_ratio=RATIO), "eager"),
        "tova": (TOVAPress(compression_ratio=RATIO), "eager"),
        "streamingllm": (StreamingLLMPress(compression_ratio=RATIO), "eager"),
    }


def run_press(model, ids, press, attn):
    """The press's own hooks on one prefill; returns {layer: scores [H_kv, N]}."""
    scorer = press.press if isinstance(press, AdaKVPress) else press
    got = {}
    original = scorer.score

    def keep(module, *args, **kwargs):
        s = original(module, *args, **kwargs)
        got[module.layer_idx] = s[0].detach().float().clone()
        return s

    scorer.score = keep
    model.config._attn_implementation = attn
    for layer in model.model.layers:
        layer.self_attn.config._attn_implementation = attn
    with press(model):
        model(input_ids=torch.tensor([ids]), past_key_values=DynamicCache(), use_cache=True)
    model.config._attn_implementation = "eager"
    for layer in model.model.layers:
        layer.self_attn.config._attn_implementation = "eager"
    return got


def write_fixture(model, ids, out_dir, stem, prompt):
    L = len(model.model.layers)
    blobs, settings = [], {}
    for name, (press, attn) in presses().items():
        scores = run_press(model, ids, press, attn)
        assert sorted(scores) == list(range(L)), f"{name}: scored layers {sorted(scores)}"
        settings[name] = {k: v for k, v in vars(press.press if isinstance(press, AdaKVPress) else press).items()
                          if isinstance(v, (int, float, bool, str))}
        settings[name]["attn_implementation"] = attn
        blobs += [(f"{name}/{l}", scores[l]) for l in range(L)]
        print(f"{name}: {L} layers, {tuple(scores[0].shape)}")
    index, offset = {}, 0
    with open(os.path.join(out_dir, stem + ".f32"), "wb") as f:
        for key, t in blobs:
            flat = t.contiguous().view(-1)
            f.write(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
            index[key] = {"offset": offset, "shape": list(t.shape)}
            offset += flat.numel()
    with open(os.path.join(out_dir, stem + ".json"), "w") as f:
        json.dump({"prompt": prompt, "input_ids": ids, "compression_ratio": RATIO, "presses": settings,
                   "kvpress": version("kvpress"), "transformers": version("transformers"),
                   "torch": torch.__version__, "tensors": index}, f, indent=None)
    print(f"{prompt}: {len(ids)} tokens; wrote {out_dir}/{stem}.{{json,f32}}")


@torch.no_grad()
def main():
    if "--tiny" in sys.argv:
        import argparse
        from transformers import AutoModelForCausalLM
        ap = argparse.ArgumentParser()
        ap.add_argument("--tiny", required=True)
        ap.add_argument("--out", required=True)
        ap.add_argument("--kinds", nargs="*", default=["llama3", "qwen2", "mistral", "qwen3", "phi3"])
        args = ap.parse_args()
        reference = json.load(open(os.path.join(args.tiny, "reference.json")))
        for kind in args.kinds:
            model = AutoModelForCausalLM.from_pretrained(os.path.join(args.tiny, kind), dtype=torch.float32,
                                                         attn_implementation="eager").eval()
            write_fixture(model, reference[kind]["input_ids"], args.out, f"kvpress_reference_{kind}",
                          f"tiny/{kind} reference.json input_ids")
        return
    args, tok, model = ref.cpu_reference_setup(__doc__)
    ids = tok(ref.PROMPTS["needle_a"], add_special_tokens=False)["input_ids"]
    write_fixture(model, ids, args.out, "kvpress_reference", "needle_a")


if __name__ == "__main__":
    main()
