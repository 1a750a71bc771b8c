#!/usr/bin/env python3
"""HF reference for the peers' baselines: SnapKV, PyramidKV / Ada-KV (their SnapKV
scores), LazyLLM and Expected Attention, per layer, on the needle_a prompt of tools/hf_reference.py.

Everything is computed from HF transformers' own modules (eager fp32, the same GGUF claa loads):
post-RoPE queries and keys captured inside HF's eager attention (tools/hf_reference.py), pre-RoPE
queries and values from each layer's own q_proj / v_proj on the hidden states entering its
attention, RoPE tables from the model's rotary_emb. The formulas follow the published code:

  snapkv      FasterDecoding/SnapKV snapkv_utils.py (window 32, max pool 7, LongBench configs) with
              kvpress snapkv_press.py's GQA mean; the window positions before claa's forced W = 8
              get the max + 1 (kvpress pads its window the same way)
  pyramidkv   KVCache-Factory pyramidkv_utils.py _grouped_window_attn_cache (its kv_head cache mode:
              the GQA mean before the pooling) with run_longbench.py's window 8, max pool 7
  adakv       those rows, the layer ranking = max over KV heads
  lazyllm     LazyLLM (arXiv 2407.14057) s^l = mean over heads of the last token's attention;
              ranking at l = min over the stage layers floor(f·L) < l and l of the percentile
  expected_attention  kvpress expected_attention_press.py (n_future 512, n_sink 4, covariance,
              value norms), its score() transcribed with the module's rotary_emb taken from the model

Writes tests/fixtures/model/breadth_reference.{json,f32}. CPU, a few minutes:
  ~/.venvs/ref/bin/python tools/hf_reference_breadth.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \
      --out tests/fixtures/model
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

W = 8
SNAP = dict(window=32, kernel=7)
PYRAMID = dict(window=8, kernel=7)
STAGES = [0.25, 0.5, 0.75]
N_FUTURE, N_SINK = 512, 4


def snapkv_rows(q, k, window, kernel, n, mean_first=False):
    """SnapKVCluster.update_kv's attn_cache (max pool), GQA mean after the pooling (kvpress) or
    before it (mean_first: KVCache-Factory's _grouped_window_attn_cache), padded to N - W."""
    H, N, d = q.shape
    G = H // k.shape[0]
    kr = k.repeat_interleave(G, dim=0)
    a = torch.matmul(q[:, -window:, :], kr.transpose(1, 2)) / math.sqrt(d)
    mask = torch.full((window, window), torch.finfo(a.dtype).min)
    cond = torch.arange(window)
    mask.masked_fill_(cond < (cond + 1).view(window, 1), 0)
    a[:, :, -window:] += mask
    a = torch.softmax(a, dim=-1, dtype=torch.float32)
    s = a[:, :, :-window].sum(dim=-2)                                             # [H, N - w]
    if mean_first:
        s = s.view(k.shape[0], G, -1).mean(dim=1)
    s = F.max_pool1d(s.unsqueeze(0), kernel_size=kernel, padding=kernel // 2, stride=1).squeeze(0)
    rows = s if mean_first else s.view(k.shape[0], G, -1).mean(dim=1)
    pad = n - W - rows.shape[1]
    if pad > 0:
        rows = F.pad(rows, (0, pad), value=rows.max().item() + 1)
    return rows


def percentile(s):
    order = torch.sort(s, stable=True, descending=True).indices
    place = torch.empty_like(order)
    place[order] = torch.arange(s.numel())
    return 1.0 - place.float() / s.numel()


def expected_attention(model, layer, h, keys, values, n):
    """kvpress ExpectedAttentionPress.score (bsz 1), module.rotary_emb → model.model.rotary_emb."""
    module = model.model.layers[layer].self_attn
    cfg = model.config
    H, Hkv, d = cfg.num_attention_heads, cfg.num_key_value_heads, module.head_dim
    keys, values = keys[:, :, N_SINK:], values[:, :, N_SINK:]
    # get_query_statistics: pre-RoPE queries of hidden_states[:, n_sink:]
    hs = h[:, N_SINK:]
    q = module.q_proj(hs).view(1, hs.shape[1], H, d).transpose(1, 2)
    mu = q.mean(dim=2, keepdim=True)
    c = q - mu
    cov = torch.einsum("bnsi,bnsj->bnij", c, c) / hs.shape[1]
    mu = mu.squeeze(2)
    # apply_avg_rope
    pos = torch.arange(n, n + N_FUTURE).unsqueeze(0)
    cos, sin = model.model.rotary_emb(mu, pos)
    cos, sin = cos[0], sin[0]
    Id = torch.eye(d)
    P = torch.zeros((d, d))
    P[d // 2:, : d // 2], P[: d // 2, d // 2:] = torch.eye(d // 2), -torch.eye(d // 2)
    R = (cos.unsqueeze(1) * Id + sin.unsqueeze(1) * P).mean(dim=0)
    mu = torch.matmul(mu, R.T)
    cov = torch.matmul(R, torch.matmul(cov, R.T))
    # score
    G = H // Hkv
    kt = keys.repeat_interleave(G, dim=1).transpose(2, 3)
    scores = torch.matmul(mu.unsqueeze(2), kt).squeeze(2) / math.sqrt(d)
    scores += torch.einsum("bhin, bhij, bhjn->bhn", kt, cov, kt) / d / 2
    scores = F.softmax(scores, dim=-1)
    scores = scores.view(1, Hkv, G, -1).mean(dim=2)
    scores = scores * values.norm(dim=-1)
    scores = F.pad(scores, (N_SINK, 0), value=scores.max().item() + 1)
    return scores[0]


@torch.no_grad()
def main():
    args, tok, model = ref.cpu_reference_setup(__doc__)
    text = ref.PROMPTS["needle_a"]
    ids_list = tok(text, add_special_tokens=False)["input_ids"]
    n = len(ids_list)
    hidden = {}

    def grab(module, a, kw):
        hidden[module.layer_idx] = kw["hidden_states"].detach()

    hooks = [layer.self_attn.register_forward_pre_hook(grab, with_kwargs=True) for layer in model.model.layers]
    ref.CAPTURE.reset()
    ref.CAPTURE.active = True
    model(input_ids=torch.tensor([ids_list]), use_cache=False)
    ref.CAPTURE.active = False
    for hk in hooks:
        hk.remove()
    L = len(model.model.layers)
    blobs = []
    importance = {}
    for l in range(L):
        q = ref.CAPTURE.queries[l][0]                 # [H, N, d] post-RoPE
        k = ref.CAPTURE.keys[l]                       # [Hkv, N, d]
        snap = snapkv_rows(q, k, SNAP["window"], SNAP["kernel"], n)
        blobs += [(f"snapkv_heads/{l}", snap), (f"snapkv/{l}", snap.sum(0))]
        pyr = snapkv_rows(q, k, PYRAMID["window"], PYRAMID["kernel"], n, mean_first=True)
        blobs += [(f"pyramidkv/{l}", pyr.sum(0)), (f"adakv/{l}", pyr.max(dim=0).values)]
        kr = k.repeat_interleave(q.shape[0] // k.shape[0], dim=0)
        last = torch.softmax(torch.einsum("hd,hnd->hn", q[:, -1, :], kr) / math.sqrt(q.shape[-1]), dim=-1)
        importance[l] = last.mean(dim=0)
        worst = percentile(importance[l])
        for f in STAGES:
            stage = math.floor(f * L)
            if stage < l:
                worst = torch.minimum(worst, percentile(importance[stage]))
        blobs.append((f"lazyllm/{l}", worst))
        module = model.model.layers[l].self_attn
        v = module.v_proj(hidden[l]).view(1, n, k.shape[0], -1).transpose(1, 2)
        ea = expected_attention(model, l, hidden[l], k.unsqueeze(0), v, n)
        blobs += [(f"expected_attention_heads/{l}", ea), (f"expected_attention/{l}", ea.sum(0))]
    index, offset = {}, 0
    with open(os.path.join(args.out, "breadth_reference.f32"), "wb") as f:
        for key, t in blobs:
            flat = t.float().contiguous().view(-1)
            f.write(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
            index[key] = {"offset": offset, "shape": list(t.shape)}
            offset += flat.numel()
    with open(os.path.join(args.out, "breadth_reference.json"), "w") as f:
        json.dump({"prompt": "needle_a", "input_ids": ids_list, "window": W, "snapkv": SNAP, "pyramidkv": PYRAMID,
                   "lazyllm_stages": STAGES, "n_future": N_FUTURE, "n_sink": N_SINK,
                   "transformers": __import__("transformers").__version__, "torch": torch.__version__,
                   "tensors": index}, f)
    print(f"needle_a: {n} tokens, {L} layers; wrote {args.out}")


if __name__ == "__main__":
    main()
