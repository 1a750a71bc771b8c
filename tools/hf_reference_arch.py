#!/usr/bin/env python3
"""The oracle and every attention-derived heuristic of tools/hf_reference.py, on the tiny random HF
models of each architecture (tools/make_tiny_models.py): the same functions (oracle, FastKV window
scores, GemFilter, CLAA, H2O, TOVA, KNorm, Speculative Prefill), fed by the post-RoPE queries and keys
captured inside HF transformers' own eager attention of that architecture (Qwen3's q/k norms, Qwen2's
biases, Gemma's attention scale, ... are whatever HF's modeling file does). Conventions (method.md §6): the
model's attention scale is carried by the queries; the window scores (FastKV, CLAA) use plain causal softmax
over the whole prompt (no sliding window, no soft-cap, as kvpress computes them); H2O, TOVA, the oracle and
SpecPrefill read the model's own attention probabilities (HF's, windowed and soft-capped where the model is). kvpress's presses on the same models come from
tools/kvpress_reference.py --tiny.

For each model: the prompt is reference.json's input_ids (150 tokens); the oracle answer is HF's greedy
continuation until the config's EOS or 32 tokens, as in hf_reference.py. Writes
tests/fixtures/model/tiny/scores_<kind>.{json,f32}.

Usage: ~/.venvs/ref/bin/python tools/hf_reference_arch.py --tiny tests/fixtures/model/tiny [--kinds qwen3 ...]
"""
import argparse
import importlib
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402


def wrap_eager_attention(model):
    """Wrap the eager attention function of the model's own modeling module (each architecture has its
    copy: modeling_qwen3.eager_attention_forward, ...), so the mask and scaling stay HF's."""
    module = importlib.import_module(type(model).__module__)
    eager = module.eager_attention_forward

    def capture(attn, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        out = eager(attn, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
        if ref.CAPTURE.active:
            # claa's convention (method.md §6): a model's own attention scale rides on the queries, so
            # every score below, written with 1/sqrt(d), sees the model's logits.
            d = query.shape[-1]
            q = query[0].detach().float() * (scaling * d ** 0.5 if scaling is not None else 1.0)
            ref.CAPTURE.queries.setdefault(attn.layer_idx, []).append(q)
            # The prefill's keys: HF's cache of a sliding layer keeps only the last `window` of them.
            ref.CAPTURE.keys.setdefault(attn.layer_idx, key[0].detach().float())
            # HF's own attention probabilities (sliding window and soft-cap included): the prefill's for
            # H2O, then each call's last row (the answer's attention) for the oracle and SpecPrefill.
            probs = out[1][0].detach().float()
            ref.CAPTURE.probs.setdefault(attn.layer_idx, probs)
            ref.CAPTURE.rows.setdefault(attn.layer_idx, []).append(probs[:, -1, :])
        return out

    module.eager_attention_forward = capture
    return lambda: setattr(module, "eager_attention_forward", eager)


def answer_rows(calls, n):
    """The answer's attention to the n prompt keys, [H, steps, n], from HF's own probabilities: the
    prefill's last row, then each decode call's row. A sliding layer's cache (DynamicSlidingWindowLayer)
    holds only the latest keys, so a row of K entries covers the last K positions; renormalised over the
    prompt (method.md §1)."""
    out = []
    for step, p in enumerate(calls):          # p [H, K]
        total = n + step                       # keys the full cache would hold: the prompt + fed-back tokens
        full = torch.zeros(p.shape[0], total)
        full[:, total - p.shape[1]:] = p
        prompt = full[:, :n]
        out.append(prompt / prompt.sum(-1, keepdim=True))
    return torch.stack(out, 1)


def oracle_from_rows(rows, pool=ref.POOL_ORACLE, pool_rows=False):
    """hf_reference.oracle / specprefill_scores on given attention rows: max over layers and heads, mean
    over steps, avg-pooled (the oracle after the mean; SpecPrefill each row before the max)."""
    peak = None
    for a in rows.values():                   # [H, T, n]
        a = ref.avg_pool(a, pool) if pool_rows else a
        layer_peak = a.max(dim=0).values
        peak = layer_peak if peak is None else torch.maximum(peak, layer_peak)
    o = peak.mean(dim=0)
    return o if pool_rows or o.shape[0] < pool else ref.avg_pool(o, pool)


@torch.no_grad()
def scores_for(folder, ids):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    eos = model.config.eos_token_id
    eos_ids = eos if isinstance(eos, list) else [eos]
    restore = wrap_eager_attention(model)
    ref.CAPTURE.reset()
    ref.CAPTURE.probs, ref.CAPTURE.rows = {}, {}
    ref.CAPTURE.active = True
    answer, _ = ref.greedy(model, torch.tensor([ids]), ref.ORACLE_MAX_NEW, stop_at_eos=True, eos_ids=eos_ids)
    ref.CAPTURE.active = False
    restore()
    n = len(ids)
    prefill_q = {l: qs[0] for l, qs in ref.CAPTURE.queries.items()}
    answer_q = {l: torch.cat([qs[0][:, -1:, :]] + qs[1:], dim=1) for l, qs in ref.CAPTURE.queries.items()}
    keys = {l: k[:, :n, :] for l, k in ref.CAPTURE.keys.items()}
    rows = {l: answer_rows(r, n) for l, r in ref.CAPTURE.rows.items()}
    blobs = [("oracle", oracle_from_rows(rows))]
    windows = {l: ref.window_scores(prefill_q[l], keys[l]) for l in sorted(prefill_q)}
    hkv = keys[0].shape[0]
    for l in sorted(prefill_q):
        blobs += [(f"fastkv/{l}", windows[l].sum(0)), (f"fastkv_heads/{l}", windows[l]),
                  (f"gemfilter/{l}", ref.gemfilter_scores(prefill_q[l], keys[l])),
                  (f"claa/{l}", ref.claa_scores(windows, l))]
        # TOVA (the last query's row) and H2O (column sums) read the model's own probabilities, which on
        # Gemma are windowed and soft-capped.
        heads, layer = ref.tova_scores(ref.CAPTURE.probs[l], hkv)
        blobs += [(f"tova_heads/{l}", heads), (f"tova/{l}", layer)]
        heads, layer = ref.h2o_scores(ref.CAPTURE.probs[l], hkv)
        blobs += [(f"h2o_heads/{l}", heads), (f"h2o/{l}", layer)]
        heads, layer = ref.knorm_scores(keys[l])
        blobs += [("knorm_heads/%d" % l, heads), ("knorm/%d" % l, layer)]
    steps = min(ref.SPEC_LOOKAHEAD, len(answer))
    blobs.append(("specprefill", oracle_from_rows({l: r[:, :steps] for l, r in rows.items()},
                                                  pool=ref.POOL_SPECPREFILL, pool_rows=True)))
    info = {"input_ids": ids, "answer_tokens": answer, "eos_ids": eos_ids,
            "oracle_queries": int(next(iter(answer_q.values())).shape[1]), "specprefill_queries": steps}
    return info, blobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", required=True)
    ap.add_argument("--kinds", nargs="*", default=["llama3", "qwen2", "mistral", "qwen3", "phi3", "gemma2", "gemma3"])
    args = ap.parse_args()
    reference = json.load(open(os.path.join(args.tiny, "reference.json")))
    for kind in args.kinds:
        info, blobs = scores_for(os.path.join(args.tiny, kind), reference[kind]["input_ids"])
        index, offset = {}, 0
        with open(os.path.join(args.tiny, f"scores_{kind}.f32"), "wb") as f:
            for key, t in blobs:
                flat = t.float().contiguous().view(-1)
                f.write(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
                index[key] = {"offset": offset, "shape": list(t.shape)}
                offset += flat.numel()
        info.update({"window": ref.W, "pool_oracle": ref.POOL_ORACLE, "pool_fastkv": ref.POOL_FASTKV,
                     "pool_gemfilter": ref.POOL_GEMFILTER, "claa_n": ref.CLAA_N,
                     "transformers": __import__("transformers").__version__, "tensors": index})
        with open(os.path.join(args.tiny, f"scores_{kind}.json"), "w") as f:
            json.dump(info, f)
        print(f"{kind}: answer {info['answer_tokens']}, {len(blobs)} tensors")


if __name__ == "__main__":
    main()
