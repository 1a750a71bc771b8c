#!/usr/bin/env python3
"""Independent reference for claa's pruned prefill pipelines (method.md §4), from HF transformers.

HF transformers (eager fp32, the same GGUF claa loads, CPU) emulates each pruned prefill pipeline by
running HF's own modules layer by layer -- model.model.embed_tokens, each model.model.layers[l]'s
input_layernorm / self_attn.{q,k,v,o}_proj / model.model.rotary_emb (+ HF's apply_rotary_pos_emb) /
post_attention_layernorm / mlp, model.model.norm, model.lm_head -- with the attention written out
by hand, so that every layer and every KV head can keep its own decode cache. Then it decodes
greedily from those caches and writes tests/fixtures/model/pipelines_reference.json:

  {"model", "transformers", "torch", "constants": {...},
   "prompts": {NAME: {"input_ids", ["text"], "full": {"answer", "answer_text", "first_logits"}}},
   "cases": [{"prompt", "method", "keep", "budget", "kept", "kept_positions", "next_position",
              "cache_kept", "first_logits", "answer", "answer_text"}, ...]}

with first_logits = {"top_ids": 100 largest logits of the first generated token, "top_values",
"logsumexp"}; cache_kept[l] = null when layer l's decode cache holds every token that layer saw,
else one sorted list of prompt indices per KV head.

Written from docs/method.md and the authors' public code (BradMcDanel/kv-exps, paths inside its
FastKV/ folder; each function names the file it follows). It does not read claa's C++ sources.

Usage (CPU, a few minutes on 2 cores):
  python3 tools/hf_pipelines.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \
      --out tests/fixtures/model/pipelines_reference.json --threads 2 [--check-keep1]
--check-keep1 also runs every method at keep = 1.0 and asserts its answer equals the Full-KV
answer (printed, not stored).
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402  (load_model, chatml, NOISE and the score functions of Task A)

# ---- constants: the project's defaults for SmolLM2-135M (L = 30), method.md §4 -------------------
W = ref.W                  # observation window, forced last W tokens in the FastKV architecture
FASTKV_POOL = ref.POOL_FASTKV
PRUNE_LAYER = 14           # l_p = L/2 - 1
CLAA_N = ref.CLAA_N
CLAA_M = 4                 # first compressed layer of CLAA (layers < m keep their full cache)
FASTKV_M = 0               # FastKV and the oracle emulation compress every layer up to l_p
GEMFILTER_LAYER = 14       # l_f
GEMFILTER_POOL = ref.POOL_GEMFILTER
SPEC_LOOKAHEAD = ref.SPEC_LOOKAHEAD
SPEC_POOL = ref.POOL_SPECPREFILL
ORACLE_POOL = ref.POOL_ORACLE
MAX_NEW = 24
EOS = [2]
KEEPS = [0.1, 0.2]
METHODS = ["fastkv", "claa", "oracle", "gemfilter", "specprefill"]
TOP_LOGITS = 100


# ---- prompts ------------------------------------------------------------------------------------
# RULER variable tracking (kv-exps FastKV/eval/ruler/config/task_details.json "vt": noise haystack,
# 1 chain, 4 hops; template and answer prefix from there; data/variable_tracking.py inserts the chain
# lines at sorted positions between the noise sentences). Deterministic here: fixed names, value and
# positions; no ICL example. The answer prefix opens the assistant turn as the authors' RULER
# build_chat(..., continue_final_message=True) does.
VT_VARS = ["QXWTR", "MBLZK", "PDNVJ", "HGSYC", "FUOEA"]
VT_VALUE = "31415"
VT_NOISE_LINES = 42
VT_POSITIONS = [3, 11, 19, 27, 35]   # noise-line index before which each chain line goes


def multihop_prompt() -> str:
    chain = [f"VAR {VT_VARS[0]} = {VT_VALUE}"] + [f"VAR {VT_VARS[j + 1]} = VAR {VT_VARS[j]}"
                                                  for j in range(len(VT_VARS) - 1)]
    lines = [ref.NOISE] * VT_NOISE_LINES
    for j, (p, c) in enumerate(zip(VT_POSITIONS, chain)):
        lines.insert(p + j, c)
    body = ("Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n" +
            "\n".join(lines) +
            f"\nQuestion: Find all variables that are assigned the value {VT_VALUE} in the text above.")
    prefix = (f"Answer: According to the chain(s) of variable assignment in the text above, "
              f"{len(VT_VARS)} variables are assigned the value {VT_VALUE}, they are:")
    return ref.chatml(body) + prefix


# ---- selection ------------------------------------------------------------------------------------
def budget(keep: float, n: int) -> int:
    """C = max(int(keep*N), W+1), capped at N (Python int(), as the authors' int(len * percentage))."""
    return min(max(int(keep * n), W + 1), n)


def top_k(scores: torch.Tensor, k: int) -> list:
    """Indices of the k largest scores, ties -> lower index (stable descending sort), sorted ascending."""
    order = torch.argsort(scores, descending=True, stable=True)[:k]
    return sorted(order.tolist())


def top_k_window(scores_first: torch.Tensor, c: int, n: int) -> list:
    """FastKV-architecture selection (fastkv_utils.py update_kv): top-(C-W) of the first N-W
    positions' scores plus the last W positions, sorted."""
    assert scores_first.shape[-1] == n - W
    return top_k(scores_first, c - W) + list(range(n - W, n))


# ---- the model, layer by layer --------------------------------------------------------------------
class Emulator:
    """HF's own modules, attention by hand. Caches: caches[l] = list over KV heads of (K [n, d],
    V [n, d]) (post-RoPE keys), so every layer and head may hold a different token set."""

    def __init__(self, model):
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
        self.rope = apply_rotary_pos_emb
        self.model = model
        cfg = model.config
        self.L = cfg.num_hidden_layers
        self.H = cfg.num_attention_heads
        self.Hkv = cfg.num_key_value_heads
        self.G = self.H // self.Hkv
        self.d = getattr(cfg, "head_dim", None) or cfg.hidden_size // self.H
        self.scale = self.d ** -0.5     # HF LlamaAttention.scaling

    def embed(self, ids):
        return self.model.model.embed_tokens(torch.tensor(ids, dtype=torch.long))      # [T, D]

    def project(self, l, h, pos):
        """input_layernorm -> q/k/v projections -> RoPE at positions `pos`: q [H,T,d], k, v [Hkv,T,d]."""
        layer = self.model.model.layers[l]
        T = h.shape[0]
        x = layer.input_layernorm(h)
        q = layer.self_attn.q_proj(x).view(T, self.H, self.d).transpose(0, 1)
        k = layer.self_attn.k_proj(x).view(T, self.Hkv, self.d).transpose(0, 1)
        v = layer.self_attn.v_proj(x).view(T, self.Hkv, self.d).transpose(0, 1)
        cos, sin = self.model.model.rotary_emb(h[None], torch.tensor(pos, dtype=torch.long)[None])
        q, k = self.rope(q[None], k[None], cos, sin)
        return q[0], k[0], v

    def finish(self, l, h, attn_out):
        """o_proj + residual, post_attention_layernorm -> mlp + residual. attn_out [H, T, d]."""
        layer = self.model.model.layers[l]
        T = h.shape[0]
        h = h + layer.self_attn.o_proj(attn_out.transpose(0, 1).reshape(T, self.H * self.d))
        return h + layer.mlp(layer.post_attention_layernorm(h))

    def attend_causal(self, q, k, v):
        """Prefill attention of T tokens over themselves, causal in processing order (as HF eager:
        scores * scaling, masked, softmax in fp32, @ V; query head h reads KV head h // G)."""
        T = q.shape[1]
        kr = k.repeat_interleave(self.G, dim=0)
        vr = v.repeat_interleave(self.G, dim=0)
        s = torch.matmul(q, kr.transpose(1, 2)) * self.scale
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        return torch.matmul(torch.softmax(s, dim=-1, dtype=torch.float32), vr)

    def attend_cache(self, q, cache):
        """Decode attention of one token (q [H,1,d]) over per-KV-head caches."""
        outs = []
        for g, (K, V) in enumerate(cache):
            qg = q[g * self.G:(g + 1) * self.G, 0, :]                          # [G, d]
            s = torch.matmul(qg, K.t()) * self.scale
            outs.append(torch.matmul(torch.softmax(s, dim=-1, dtype=torch.float32), V))
        return torch.cat(outs, 0)[:, None, :]                                   # [H, 1, d]

    def logits(self, h_last):
        return self.model.lm_head(self.model.model.norm(h_last[None]))[0]       # [vocab]

    def full_cache(self, k, v):
        return [(k[g], v[g]) for g in range(self.Hkv)]

    def run_layers(self, h, pos, layers, caches, on_layer=None):
        """Causal prefill of the tokens in h (positions pos) through `layers`, caching every token."""
        for l in layers:
            q, k, v = self.project(l, h, pos)
            if on_layer is not None:
                on_layer(l, q, k, v)
            caches[l] = self.full_cache(k, v)
            h = self.finish(l, h, self.attend_causal(q, k, v))
        return h

    def decode(self, caches, first_logits, next_position, capture_q=None):
        """Greedy decode (argmax) from the caches: at most MAX_NEW tokens, stop at EOS (included).
        Token i (i >= 1) is fed back at position next_position + i - 1. capture_q[l] collects the
        query of every fed-back token (the last generated token is never fed back)."""
        tokens = []
        nxt = int(torch.argmax(first_logits))
        for step in range(MAX_NEW):
            tokens.append(nxt)
            if nxt in EOS or step + 1 == MAX_NEW:
                break
            h = self.embed([nxt])
            pos = [next_position + step]
            for l in range(self.L):
                q, k, v = self.project(l, h, pos)
                if capture_q is not None:
                    capture_q[l].append(q)
                caches[l] = [(torch.cat([K, k[g]], 0), torch.cat([V, v[g]], 0))
                             for g, (K, V) in enumerate(caches[l])]
                h = self.finish(l, h, self.attend_cache(q, caches[l]))
            nxt = int(torch.argmax(self.logits(h[-1])))
        return tokens


def logit_record(logits):
    top = torch.topk(logits.double(), TOP_LOGITS)
    return {"top_ids": top.indices.tolist(), "top_values": top.values.tolist(),
            "logsumexp": torch.logsumexp(logits.double(), 0).item()}


# ---- pipelines --------------------------------------------------------------------------------------
@torch.no_grad()
def full_kv(em, ids):
    """Full KV baseline: plain prefill, greedy decode. Also captures what the oracle and the
    self-draft Speculative Prefill need: the post-RoPE prompt keys per layer and the queries of the
    last prompt position plus every fed-back answer token (oracle: kv-exps
    FastKV/analysis/generate_oracles.py, OracleGenerator.generate)."""
    n = len(ids)
    caches = [None] * em.L
    keys, last_q = {}, {}

    def grab(l, q, k, v):
        keys[l] = k.clone()
        last_q[l] = q[:, -1:, :].clone()

    h = em.run_layers(em.embed(ids), list(range(n)), range(em.L), caches, on_layer=grab)
    first = em.logits(h[-1])
    fed_q = [[] for _ in range(em.L)]
    answer = em.decode(caches, first, n, capture_q=fed_q)
    answer_q = {l: torch.cat([last_q[l]] + fed_q[l], dim=1) for l in range(em.L)}   # [H, T, d]
    return {"first": first, "answer": answer, "answer_q": answer_q, "keys": keys}


@torch.no_grad()
def fastkv_architecture(em, ids, c, method, oracle_scores=None):
    """FastKV / CLAA / oracle emulation (method.md §4).

    FastKV: kv-exps FastKV/baseline/fastkv/fastkv_utils.py (FastKVCluster.update_kv) and
    llama_hijack_4_45.py (decoder layer gathers hidden states and position ids at the TSP layer;
    the model forward recomputes RoPE from the gathered ORIGINAL position ids). Every layer
    l >= min_layer_idx (0) keeps, per KV head g, top-(C-W) of its own window score S[l,g,:] plus
    the last W as decode cache, while its own prefill attention uses the full K/V; at the TSP
    layer l_p the top-(C-W) of sum_g S[l_p,g,:] plus the last W are propagated.

    CLAA: kv-exps FastKV/baseline/claa/claa_utils.py (CLAACluster.update_kv): the same, layers
    < min_layer_idx = m = 4 keep their full cache, and the l_p selection is the max over the
    z-scored (unbiased std + 1e-8) rows S[l', g, :] of layers l_p-3..l_p.

    Oracle: kv-exps FastKV/baseline/oracle/oracle_utils.py (OracleCluster.update_kv). What that
    code does for the per-layer caches: at every layer (min_layer_idx = 0) it takes
    rankings[:q_len][:-W].topk(C-W) -- ONE token set from the oracle ranking, the same for every
    KV head -- plus the last W; at l_p it propagates exactly that set. We follow it: every layer
    0..l_p caches the propagated set on all heads. (After l_p its rankings[:q_len] indexes the
    C propagated tokens by local position, which is meaningless, but it then keeps C-W of C-W
    entries, i.e. every propagated token, so those layers cache all C tokens, as here.)

    Layers after l_p process only the C propagated tokens (causal among them, RoPE from their
    original positions) and cache them all. Decoding continues at position N: the authors decode
    with model.generate, whose position ids come from the attention-mask length (N, N+1, ...).
    """
    n = len(ids)
    m = CLAA_M if method == "claa" else FASTKV_M
    h = em.embed(ids)
    pos = list(range(n))
    caches = [None] * em.L
    cache_kept = [None] * em.L
    windows = {}
    if method == "oracle":
        oracle_set = top_k_window(oracle_scores[: n - W], c, n)
    for l in range(PRUNE_LAYER + 1):
        q, k, v = em.project(l, h, pos)
        windows[l] = ref.window_scores(q, k)                                  # S[l] [Hkv, N-W]
        if l >= m and c < n:
            if method == "oracle":
                per_head = [oracle_set] * em.Hkv
            else:
                per_head = [top_k_window(windows[l][g], c, n) for g in range(em.Hkv)]
            caches[l] = [(k[g, idx], v[g, idx]) for g, idx in enumerate(per_head)]
            cache_kept[l] = per_head
        else:
            caches[l] = em.full_cache(k, v)
        h = em.finish(l, h, em.attend_causal(q, k, v))                         # full K/V here
    if method == "fastkv":
        sel = top_k_window(windows[PRUNE_LAYER].sum(0), c, n)
    elif method == "claa":
        sel = top_k_window(ref.claa_scores(windows, PRUNE_LAYER), c, n)
    else:
        sel = oracle_set
    h = h[sel]
    pos = list(sel)
    h = em.run_layers(h, pos, range(PRUNE_LAYER + 1, em.L), caches)
    first = em.logits(h[-1])
    answer = em.decode(caches, first, n)
    return {"kept": sel, "kept_positions": pos, "next_position": n, "cache_kept": cache_kept,
            "first": first, "answer": answer}


@torch.no_grad()
def gemfilter(em, ids, c):
    """GemFilter: kv-exps FastKV/baseline/gemfilter/gemfilter_utils.py (find_context /
    standard_dis_index / gemfilter_generate_selection) and llama_hijack_4_45.py. Layers 0..l_f run
    on the full prompt; at l_f the raw dot products of the last post-RoPE query with every key,
    summed over all H heads (no scaling, no softmax), avg-pooled (kernel 5); top-C kept (nothing
    forced), sorted; the whole model runs from scratch on those tokens with positions 0..C-1; the
    decode continues at position C (its cache length). The authors' gemfilter_generate stops
    before appending EOS and can emit max_gen_len + 1 tokens; here every method decodes the same
    way (at most 24 tokens, EOS included)."""
    n = len(ids)
    h = em.embed(ids)
    pos = list(range(n))
    for l in range(GEMFILTER_LAYER):
        q, k, v = em.project(l, h, pos)
        h = em.finish(l, h, em.attend_causal(q, k, v))
    q, k, _ = em.project(GEMFILTER_LAYER, h, pos)
    sel = top_k(ref.gemfilter_scores(q, k), c)
    caches = [None] * em.L
    kept_ids = [ids[i] for i in sel]
    h = em.run_layers(em.embed(kept_ids), list(range(c)), range(em.L), caches)
    first = em.logits(h[-1])
    answer = em.decode(caches, first, c)
    return {"kept": sel, "kept_positions": list(range(c)), "next_position": c,
            "cache_kept": [None] * em.L, "first": first, "answer": answer}


@torch.no_grad()
def specprefill(em, ids, c, full):
    """Speculative Prefill, self-draft: kv-exps FastKV/baseline/speculative_prefill/main.py
    (SpeculativePrefillPipeline.run). Score = tools/hf_reference.py specprefill_scores (pool 7 per
    row before the max over layer x head, mean over steps) with the queries of the last prompt
    position and the fed-back look-ahead tokens: the first k = 8 tokens of the model's own greedy
    answer, the last of them not fed back, i.e. the first min(8, T) answer queries of the Full-KV
    run. (The authors' loop feeds k tokens, giving k + 1 queries; see hf_reference.py.) Top-C
    token-level (use_chunk_selection off), sorted; the model prefills the kept tokens at their
    ORIGINAL positions; decoding continues at position (last kept + 1)."""
    n = len(ids)
    steps = min(SPEC_LOOKAHEAD, len(full["answer"]))
    score = ref.specprefill_scores(full["answer_q"], full["keys"], n, steps)
    sel = top_k(score, c)
    caches = [None] * em.L
    kept_ids = [ids[i] for i in sel]
    h = em.run_layers(em.embed(kept_ids), list(sel), range(em.L), caches)
    first = em.logits(h[-1])
    answer = em.decode(caches, first, sel[-1] + 1)
    return {"kept": sel, "kept_positions": list(sel), "next_position": sel[-1] + 1,
            "cache_kept": [None] * em.L, "first": first, "answer": answer}


def run_case(em, ids, method, keep, full, oracle_scores):
    n = len(ids)
    c = budget(keep, n)
    if method in ("fastkv", "claa", "oracle"):
        out = fastkv_architecture(em, ids, c, method, oracle_scores)
    elif method == "gemfilter":
        out = gemfilter(em, ids, c)
    else:
        out = specprefill(em, ids, c, full)
    # Sanity: kept indices are distinct, sorted prompt indices, exactly C of them; the FastKV
    # architecture keeps the last W; per-head caches hold C tokens each.
    kept = out["kept"]
    assert len(kept) == c and kept == sorted(set(kept)) and 0 <= kept[0] and kept[-1] < n, (method, keep)
    if method in ("fastkv", "claa", "oracle"):
        assert kept[-W:] == list(range(n - W, n))
    for row in out["cache_kept"]:
        if row is not None:
            assert len(row) == em.Hkv and all(len(r) == c and r == sorted(set(r)) for r in row)
    out["budget"] = c
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--check-keep1", action="store_true",
                    help="also run every method at keep = 1.0 and assert it reproduces the Full-KV answer")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    tok, model = ref.load_model(args.gguf, torch.float32, "cpu")
    em = Emulator(model)
    assert (em.L, em.H, em.Hkv, em.d) == (30, 9, 3, 64), (em.L, em.H, em.Hkv, em.d)

    here = os.path.dirname(os.path.abspath(args.out))
    with open(os.path.join(here, "model_reference.json")) as f:
        needle_ids = json.load(f)["prompts"]["needle_a"]["input_ids"]
    mh_text = multihop_prompt()
    prompts = {"needle": {"input_ids": needle_ids},
               "multihop": {"text": mh_text, "input_ids": tok(mh_text, add_special_tokens=False)["input_ids"]}}

    result = {"model": os.path.basename(args.gguf), "transformers": __import__("transformers").__version__,
              "torch": torch.__version__,
              "constants": {"window": W, "fastkv_pool": FASTKV_POOL, "prune_layer": PRUNE_LAYER,
                            "claa_n": CLAA_N, "claa_first_compressed_layer": CLAA_M,
                            "fastkv_first_compressed_layer": FASTKV_M, "oracle_first_compressed_layer": FASTKV_M,
                            "gemfilter_filter_layer": GEMFILTER_LAYER, "gemfilter_pool": GEMFILTER_POOL,
                            "specprefill_lookahead": SPEC_LOOKAHEAD, "specprefill_pool": SPEC_POOL,
                            "specprefill_selection": "token", "oracle_pool": ORACLE_POOL,
                            "oracle_max_new_tokens": MAX_NEW, "max_new_tokens": MAX_NEW, "eos": EOS,
                            "keep_rates": KEEPS, "methods": METHODS,
                            "budget": "min(max(int(keep*N), W+1), N)"},
              "prompts": {}, "cases": []}

    for name, p in prompts.items():
        ids = p["input_ids"]
        n = len(ids)
        t1 = time.time()
        full = full_kv(em, ids)
        # Self-check of the hand-written attention against HF's own forward and greedy loop.
        with torch.no_grad():
            hf_logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        hf_answer, _ = ref.greedy(model, torch.tensor([ids]), MAX_NEW, stop_at_eos=True, eos_ids=EOS)
        diff = (hf_logits - full["first"]).abs().max().item()
        print(f"{name}: N={n}, |emulator - HF| first logits max {diff:.2e}, HF greedy answer "
              f"{'==' if hf_answer == full['answer'] else '!='} emulator answer", flush=True)
        assert diff < 1e-3 and hf_answer == full["answer"]
        # Oracle (method.md §1) from the model's own greedy answer (max 24 tokens, EOS stops).
        oracle_scores = ref.oracle(full["answer_q"], full["keys"], n)
        entry = dict(p)
        entry["full"] = {"answer": full["answer"], "answer_text": tok.decode(full["answer"]),
                         "first_logits": logit_record(full["first"])}
        result["prompts"][name] = entry
        print(f"  full ({time.time() - t1:.1f}s): {entry['full']['answer_text']!r}", flush=True)

        for method in METHODS:
            for keep in KEEPS:
                t1 = time.time()
                out = run_case(em, ids, method, keep, full, oracle_scores)
                case = {"prompt": name, "method": method, "keep": keep, "budget": out["budget"],
                        "kept": out["kept"], "kept_positions": out["kept_positions"],
                        "next_position": out["next_position"], "cache_kept": out["cache_kept"],
                        "first_logits": logit_record(out["first"]), "answer": out["answer"],
                        "answer_text": tok.decode(out["answer"])}
                result["cases"].append(case)
                print(f"  {method:11s} keep {keep}: C={out['budget']} ({time.time() - t1:.1f}s) "
                      f"{case['answer_text']!r}", flush=True)
            if args.check_keep1:
                out = run_case(em, ids, method, 1.0, full, oracle_scores)
                ok = out["answer"] == full["answer"]
                print(f"  {method:11s} keep 1.0: answer {'==' if ok else '!='} Full-KV", flush=True)
                assert ok, (name, method)

    with open(args.out, "w") as f:
        json.dump(result, f, separators=(",", ":"))
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
