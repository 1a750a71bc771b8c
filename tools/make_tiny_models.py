#!/usr/bin/env python3
"""Tiny random HF models (safetensors) plus HF transformers' own outputs, as test fixtures.

They exercise the HF-folder loading path and the architecture variants the default model does
not use: Llama-3.1 rope_scaling "llama3" (bf16, sharded checkpoint), Qwen2 q/k/v biases with tied
embeddings (fp16), Mistral (fp32), Qwen3 per-head q/k RMSNorm with head_dim 32 != hidden / heads
(fp32), Phi-3 fused qkv_proj / gate_up_proj and LongRoPE (fp32), Gemma 2 (soft-caps, sliding window,
query_pre_attn_scalar, (1 + w) norms around attention and MLP, GeGLU, scaled embeddings) and Gemma 3 (q/k
norms, a sliding and a global layer with their own RoPE) (fp32). For each model the fixture holds input ids, HF's fp32 logits of the last position, a greedy
continuation (12 steps; 32 for the models added since) and HF's inverse RoPE frequencies.

Usage: python3 tools/make_tiny_models.py --out tests/fixtures/model/tiny [--kinds qwen3 ...]
(needs torch + transformers; CPU is enough, runs in seconds). --kinds regenerates only those models
and merges them into the existing reference.json, so the others' files stay byte for byte.
"""
import argparse
import json
import os

import torch

COMMON = dict(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5, initializer_range=0.2)


def build(kind):
    from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                              Phi3Config, Phi3ForCausalLM, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM,
                              Gemma2Config, Gemma2ForCausalLM, Gemma3TextConfig, Gemma3ForCausalLM)
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
    if kind == "qwen3":
        # head_dim 32 with 4 heads of a 64-wide model: q_proj is 128 wide (as Qwen3-0.6B: 16 x 128 > 1024).
        cfg = Qwen3Config(**COMMON, head_dim=32, rope_theta=1000000.0, tie_word_embeddings=False,
                          attention_bias=False, use_sliding_window=False, bos_token_id=1, eos_token_id=2)
        return Qwen3ForCausalLM(cfg), torch.float32, None
    if kind == "phi3":
        # LongRoPE with an original context of 64: the 150-token reference prompt rotates with the long
        # factors (and HF's attention factor sqrt(1 + ln 8 / ln 64)), the 40-token one with the short.
        half = COMMON["hidden_size"] // COMMON["num_attention_heads"] // 2
        rope = {"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 64,
                "short_factor": [1.0 + 0.1 * i for i in range(half)],
                "long_factor": [1.5 + 0.9 * i for i in range(half)]}
        cfg = Phi3Config(**COMMON, rope_parameters=rope, original_max_position_embeddings=64,
                         tie_word_embeddings=False, sliding_window=None, pad_token_id=0, bos_token_id=1,
                         eos_token_id=2)
        return Phi3ForCausalLM(cfg), torch.float32, None
    if kind == "gemma2":
        # Sliding window 32 < the 150-token prompt on the even layer; soft-caps small enough to bite on
        # these logits; query_pre_attn_scalar 24 != head_dim 16. Untied embeddings (Gemma ties them): tied,
        # the tiny model copies its last token forever, a weak greedy test (claa's tied path: qwen2).
        cfg = Gemma2Config(**COMMON, head_dim=16, sliding_window=32, query_pre_attn_scalar=24,
                           attn_logit_softcapping=2.0, final_logit_softcapping=5.0, pad_token_id=0, tie_word_embeddings=False,
                           bos_token_id=1, eos_token_id=2)
        return Gemma2ForCausalLM(cfg), torch.float32, None
    if kind == "gemma3":
        # One sliding layer (window 32, RoPE base 10000) and one global layer (base 1e6, linear factor 8),
        # q/k norms; query_pre_attn_scalar = head_dim, the case of Gemma 3 1B-12B.
        rope = {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}
        cfg = Gemma3TextConfig(**COMMON, head_dim=16, sliding_window=32, query_pre_attn_scalar=16,
                               layer_types=["sliding_attention", "full_attention"], rope_parameters=rope,
                               pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
        return Gemma3ForCausalLM(cfg), torch.float32, None
    raise ValueError(kind)


SEEDS = {"llama3": 1, "qwen2": 2, "mistral": 3, "qwen3": 4, "phi3": 5, "gemma2": 6, "gemma3": 7}
GREEDY_STEPS = {"llama3": 12, "qwen2": 12, "mistral": 12}  # the first three fixtures; 32 since


@torch.no_grad()
def reference(model, ids, steps):
    out = model(input_ids=torch.tensor([ids]))
    logits = out.logits[0, -1].double()
    tokens = []
    seq = list(ids)
    for _ in range(steps):
        nxt = int(model(input_ids=torch.tensor([seq])).logits[0, -1].argmax())
        tokens.append(nxt)
        seq.append(nxt)
    return logits.tolist(), tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kinds", nargs="*", default=list(SEEDS))
    args = ap.parse_args()
    path = os.path.join(args.out, "reference.json")
    fixture = json.load(open(path)) if os.path.exists(path) else {}
    for kind in args.kinds:
        torch.manual_seed(SEEDS[kind])
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
        logits, tokens = reference(model, ids, GREEDY_STEPS.get(kind, 32))
        rotary = model.model.rotary_emb
        # Gemma 3 keeps one table per layer type: the global layers' is the config's rope_theta + scaling.
        inv_freq = getattr(rotary, "inv_freq", getattr(rotary, "full_attention_inv_freq", None)).double().tolist()
        entry = {"input_ids": ids, "last_logits": logits, "greedy_tokens": tokens, "inv_freq": inv_freq,
                 "stored_dtype": str(dtype).replace("torch.", "")}
        if hasattr(rotary, "long_inv_freq"):  # LongRoPE: inv_freq is the short factors' (the original one)
            entry["inv_freq"] = rotary.original_inv_freq.double().tolist()
            entry["inv_freq_long"] = rotary.long_inv_freq.double().tolist()
            entry["attention_factor"] = float(rotary.attention_scaling)
            short_ids = ids[:40]
            entry["short_input_ids"] = short_ids
            entry["short_last_logits"] = model(input_ids=torch.tensor([short_ids])).logits[0, -1].double().tolist()
        fixture[kind] = entry
        print(kind, "ok", tokens)
    with open(path, "w") as f:
        json.dump(fixture, f)


if __name__ == "__main__":
    main()
