#!/usr/bin/env python3
"""HF reference for decoding over a ragged KV cache (AdaKV-style per-head budgets).

After the needle_a prompt of tools/hf_reference.py is prefilled with HF transformers (eager fp32, the same
GGUF claa loads), each layer's cache keeps, per KV head g, only the prompt positions p with
p % (g + 2) == l % (g + 2) plus the last 8 (so the heads keep about N/2, N/3 and N/4 tokens: different
counts). HF's cache cannot hold different lengths per head, so here each head's kept keys and values are
gathered, padded to the longest head with zeros, and an additive mask per query head (−inf on a head's
padding; installed inside HF's own eager attention) hides the padding — attention over exactly the kept
keys, computed by HF's modules. Then greedy decoding for 8 steps from the prefill's own next token; the
fixture holds every step's logits summary (top ids / values, logsumexp) and the tokens.

Writes tests/fixtures/model/ragged_reference.json.
  ~/.venvs/ref/bin/python tools/hf_reference_ragged.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --out tests/fixtures/model
"""

import json
import os
import sys

import torch
from transformers import DynamicCache
from transformers.models.llama import modeling_llama

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

WINDOW = 8
STEPS = 8
MASKS = {}   # layer -> additive mask [1, H, 1, S] for the current decode step


def kept_positions(layer, head, n):
    """The keep rule the C++ test applies too (tests/model/test_ragged_cache.cpp)."""
    m = head + 2
    return [p for p in range(n - WINDOW) if p % m == layer % m] + list(range(n - WINDOW, n))


def masked_eager(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    mask = MASKS.get(module.layer_idx)
    if mask is not None:
        attention_mask = mask
    return ref.EAGER(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)


@torch.no_grad()
def main():
    args, tok, model = ref.cpu_reference_setup(__doc__)
    modeling_llama.eager_attention_forward = masked_eager
    ids = tok(ref.PROMPTS["needle_a"], add_special_tokens=False)["input_ids"]
    n = len(ids)
    cache = DynamicCache()
    out = model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True)
    token = int(out.logits[0, -1].argmax())
    cfg = model.config
    H, Hkv = cfg.num_attention_heads, cfg.num_key_value_heads
    G = H // Hkv
    counts = {}
    for l, layer in enumerate(cache.layers):
        sets = [kept_positions(l, g, n) for g in range(Hkv)]
        widest = max(len(s) for s in sets)
        k = torch.zeros(1, Hkv, widest, layer.keys.shape[-1])
        v = torch.zeros_like(k)
        visible = torch.zeros(Hkv, widest, dtype=torch.bool)
        for g, s in enumerate(sets):
            k[0, g, :len(s)] = layer.keys[0, g, s]
            v[0, g, :len(s)] = layer.values[0, g, s]
            visible[g, :len(s)] = True
        layer.keys, layer.values = k, v
        counts[l] = [len(s) for s in sets]
        MASKS[l] = visible
    visible = dict(MASKS)  # layer -> bool [H_kv, S]: what each KV head may see
    steps = []
    for step in range(STEPS):
        for l in visible:
            visible[l] = torch.cat([visible[l], torch.ones(Hkv, 1, dtype=torch.bool)], dim=1)  # the new token
            add = torch.zeros(visible[l].shape)
            add[~visible[l]] = float("-inf")
            MASKS[l] = add.repeat_interleave(G, dim=0).view(1, H, 1, -1)  # query head h under KV head h // G
        o = model(input_ids=torch.tensor([[token]]), position_ids=torch.tensor([[n + step]]), past_key_values=cache,
                  use_cache=True)
        logits = o.logits[0, -1].float()
        summary = ref.logit_summary(logits)
        steps.append({"input": token, **summary})
        token = int(logits.argmax())
    path = os.path.join(args.out, "ragged_reference.json")
    with open(path, "w") as f:
        json.dump({"prompt": "needle_a", "input_ids": ids, "window": WINDOW,
                   "rule": "head g of layer l keeps p < N - window with p % (g + 2) == l % (g + 2), and the window",
                   "counts": [counts[l] for l in range(len(counts))], "steps": steps,
                   "transformers": __import__("transformers").__version__, "torch": torch.__version__}, f)
    print(f"needle_a: {n} tokens; layer 0 keeps {counts[0]} per KV head; tokens {[s['input'] for s in steps]}")


if __name__ == "__main__":
    main()
