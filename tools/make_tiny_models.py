#!/usr/bin/env python3
"""Tiny random HF models (safetensors) plus HF transformers' own outputs, as test fixtures.

They exercise the HF-folder loading path and the architecture variants the default model does
not use: Llama-3.1 rope_scaling "llama3" (bf16, sharded checkpoint), Qwen2 q/k/v biases with tied
embeddings (fp16), Mistral (fp32). For each model the fixture holds input ids, HF's fp32 logits of
the last position, a 12-step greedy continuation and HF's inverse RoPE frequencies.

Usage: python3 tools/make_tiny_models.py --out tests/fixtures/model/tiny
(needs torch + transformers; CPU is enough, runs in seconds)
"""
import argparse
import json
import os

import torch

COMMON = dict(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5, initializer_range=0.2)


def build(kind):
    from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)
    if kind == "llama3":
        cfg = LlamaConfig(**COMMON, rope_theta=500000.0, tie_word_embeddings=False,
                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                          bos_token_id=1, eos_token_id=[2, 3])
        return LlamaForCausalLM(cfg), torch.bfloat16, "20KB"
    if kind == "qwen2":
        cfg = Qwen2Config(**COMMON, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                          bos_token_id=1, eos_token_id=2)
        return Qwen2ForCausalLM(cfg), torch.float16, None
    if kind == "mistral":
        cfg = MistralConfig(**COMMON, rope_theta=10000.0, tie_word_embeddings=False, sliding_window=None,
                            bos_token_id=1, eos_token_id=2)
        return MistralForCausalLM(cfg), torch.float32, None
    raise ValueError(kind)


@torch.no_grad()
def reference(model, ids):
    out = model(input_ids=torch.tensor([ids]))
    logits = out.logits[0, -1].double()
    tokens = []
    seq = list(ids)
    for _ in range(12):
        nxt = int(model(input_ids=torch.tensor([seq])).logits[0, -1].argmax())
        tokens.append(nxt)
        seq.append(nxt)
    return logits.tolist(), tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    fixture = {}
    for kind in ["llama3", "qwen2", "mistral"]:
        torch.manual_seed({"llama3": 1, "qwen2": 2, "mistral": 3}[kind])
        model, dtype, shard = build(kind)
        # Perturb the norms so a wrong norm weight cannot go unnoticed (they start at 1).
        for name, p in model.named_parameters():
            if "norm" in name:
                p.data.uniform_(0.5, 1.5)
            if name.endswith("bias"):
                p.data.normal_(0, 0.5)
        folder = os.path.join(args.out, kind)
        kwargs = {"max_shard_size": shard} if shard else {}
        model.to(dtype).save_pretrained(folder, safe_serialization=True, **kwargs)
        # The reference is what HF itself loads from the folder, in fp32 with eager attention
        # (casting the in-memory model back would leave its RoPE buffers rounded to fp16/bf16).
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
        g = torch.Generator().manual_seed(7)
        ids = torch.randint(4, COMMON["vocab_size"], (150,), generator=g).tolist()
        logits, tokens = reference(model, ids)
        inv_freq = model.model.rotary_emb.inv_freq.double().tolist()
        fixture[kind] = {"input_ids": ids, "last_logits": logits, "greedy_tokens": tokens, "inv_freq": inv_freq,
                         "stored_dtype": str(dtype).replace("torch.", "")}
        print(kind, "ok", tokens)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(fixture, f)


if __name__ == "__main__":
    main()
