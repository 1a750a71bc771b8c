#!/usr/bin/env python3
"""Independent reference for claa's model runtime and per-layer scores, from HF transformers.

Runs SmolLM2-135M-Instruct from the very GGUF file claa loads (transformers dequantises it and
undoes llama.cpp's Q/K permutation itself), with eager fp32 attention, and writes a fixture:

  model_reference.json   per prompt: input ids, final-position logits (top-50 ids/values and
                         summary stats of the full vector), a 32-step greedy continuation,
                         and the greedy answer used for the oracle
  scores_reference.f32   float32 little-endian vectors, indexed by scores_reference.json:
                         the Answer-Informed Oracle (method.md §1) and the FastKV, GemFilter and
                         CLAA per-layer score vectors (method.md §2), computed here from the
                         post-RoPE queries and keys captured inside HF's attention; also the peer
                         baselines H2O / observed attention, TOVA and KNorm (per layer, per KV head)
                         and the self-draft Speculative Prefill ranking (one vector per prompt).
                         The newer tensors are appended after the older ones, so the older
                         offsets do not move.

It also (--bf16) records HF's own bf16 logits so claa's CUDA bf16 error can be judged against the
error bf16 itself introduces.

Usage (on the GPU machine, where transformers is installed; needs the `gguf` package):
  python3 tools/hf_reference.py --gguf PATH/SmolLM2-135M-Instruct.Q4_1.gguf --out tests/fixtures/model
"""
import argparse
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

W = 8            # observation window (method.md notation)
POOL_ORACLE = 13
POOL_FASTKV = 7
POOL_GEMFILTER = 5
CLAA_N = 4
POOL_SPECPREFILL = 7
SPEC_LOOKAHEAD = 8   # Speculative Prefill look-ahead tokens k
ORACLE_MAX_NEW = 32
GREEDY_STEPS = 32

SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
NOISE = ("The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.")


def chatml(user: str) -> str:
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            "<|im_start|>assistant\n")


def needle_prompt(key: str, value: str, lines: int, depth: float) -> str:
    """A RULER niah_single_1-style prompt (datasets.md) of roughly 22*lines tokens."""
    hay = [NOISE] * lines
    hay.insert(int(lines * depth), f"One of the special magic numbers for {key} is: {value}.")
    body = ("Some special magic numbers are hidden within the following text. Make sure to memorize it. "
            "I will quiz you about the numbers afterwards.\n" + "\n".join(hay) +
            f"\nWhat is the special magic number for {key} mentioned in the provided text?")
    return chatml(body)


PROMPTS = {
    # ~20 tokens, plain text (no template): the short parity case.
    "short": "The three primary colors are red, blue and",
    # ~1K tokens each: parity of long attention, and the score references.
    "needle_a": needle_prompt("tender-lighthouse", "4817305", 44, 0.35),
    "needle_b": needle_prompt("quiet-orchard", "9023641", 44, 0.7),
}


class Capture:
    """Collects post-RoPE queries/keys per layer from inside HF's attention call."""

    def __init__(self):
        self.active = False
        self.queries = {}   # layer -> list of [H, T, d]
        self.keys = {}      # layer -> [Hkv, S, d] (latest call: the whole cache)

    def reset(self):
        self.queries = {}
        self.keys = {}


CAPTURE = Capture()


def capture_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    if CAPTURE.active:
        layer = module.layer_idx
        CAPTURE.queries.setdefault(layer, []).append(query[0].detach().float().cpu())
        CAPTURE.keys[layer] = key[0].detach().float().cpu()
    return EAGER(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)


EAGER = None


def load_model(gguf_path, dtype, device):
    # Wrap HF's own eager attention in place (LlamaAttention looks the function up at call time),
    # so the causal mask is built exactly as for attn_implementation="eager". Registering a new
    # attention name instead silently changes the mask format handed to it.
    global EAGER
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.models.llama import modeling_llama
    if EAGER is None:
        EAGER = modeling_llama.eager_attention_forward
        modeling_llama.eager_attention_forward = capture_attention
    folder, name = os.path.split(os.path.abspath(gguf_path))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=dtype,
                                                 attn_implementation="eager").to(device).eval()
    return tok, model


def cpu_reference_setup(description):
    """The command line the CPU reference scripts share (--gguf, --out, --threads) and their model:
    returns (args, tokenizer, model), the model eager fp32 on the CPU."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    tok, model = load_model(args.gguf, torch.float32, "cpu")
    return args, tok, model


def avg_pool(x: torch.Tensor, k: int) -> torch.Tensor:
    """method.md pool(): avg_pool1d, stride 1, padding k//2, zero padding counted."""
    if x.shape[-1] < k:
        return x
    shape = x.shape
    y = F.avg_pool1d(x.reshape(-1, 1, shape[-1]), kernel_size=k, stride=1, padding=k // 2)
    return y.reshape(*shape[:-1], y.shape[-1])


@torch.no_grad()
def greedy(model, ids, steps, stop_at_eos, eos_ids):
    """Manual greedy loop with a cache: returns generated ids and the first-step logits."""
    out = model(input_ids=ids, use_cache=True)
    past = out.past_key_values
    logits0 = out.logits[0, -1].float().cpu()
    tokens = []
    nxt = int(out.logits[0, -1].argmax())
    for step in range(steps):
        tokens.append(nxt)
        if stop_at_eos and nxt in eos_ids:
            break
        if step + 1 == steps:
            break
        out = model(input_ids=torch.tensor([[nxt]], device=ids.device), past_key_values=past, use_cache=True)
        past = out.past_key_values
        nxt = int(out.logits[0, -1].argmax())
    return tokens, logits0


def logit_summary(logits: torch.Tensor):
    top = torch.topk(logits.double(), 50)
    return {
        "top_ids": top.indices.tolist(),
        "top_values": top.values.tolist(),
        "mean": logits.double().mean().item(),
        "std": logits.double().std().item(),
        "min": logits.double().min().item(),
        "max": logits.double().max().item(),
        "logsumexp": torch.logsumexp(logits.double(), 0).item(),
    }


def window_scores(q, k):
    """FastKV/SnapKV window score S[g, j] of one layer (fastkv_utils.py): [Hkv, N-W]."""
    H, N, d = q.shape
    Hkv = k.shape[0]
    G = H // Hkv
    kr = k.repeat_interleave(G, dim=0)                                # HF repeat_kv order
    a = torch.matmul(q[:, N - W:, :], kr.transpose(1, 2)) / math.sqrt(d)  # [H, W, N]
    mask = torch.full((W, W), float("-inf")).triu(1)
    a[:, :, N - W:] += mask
    a = torch.softmax(a, dim=-1, dtype=torch.float32)
    s = a[:, :, : N - W].sum(dim=1)                                   # [H, N-W]
    s = avg_pool(s, POOL_FASTKV)
    return s.view(Hkv, G, -1).sum(dim=1)


def gemfilter_scores(q, k):
    """GemFilter: raw last-query · key dot products summed over all heads, pool 5: [N]."""
    H, N, d = q.shape
    kr = k.repeat_interleave(H // k.shape[0], dim=0)
    dots = torch.einsum("hd,hnd->hn", q[:, -1, :], kr)
    return avg_pool(dots.sum(0), POOL_GEMFILTER)


def claa_scores(window_by_layer, layer):
    """CLAA at `layer`: z-score each KV-head row of the last n layers, max over rows (claa_utils.py)."""
    rows = torch.cat([window_by_layer[l] for l in range(max(0, layer - CLAA_N + 1), layer + 1)], 0)
    z = (rows - rows.mean(dim=1, keepdim=True)) / (rows.std(dim=1, keepdim=True) + 1e-8)
    return z.max(dim=0).values


def oracle(answer_queries, prompt_keys, n):
    """Answer-Informed Oracle (method.md §1): max over layers and heads, mean over steps, pool 13."""
    peak = None
    for layer, q in answer_queries.items():     # q [H, T, d]
        k = prompt_keys[layer][:, :n, :]
        kr = k.repeat_interleave(q.shape[0] // k.shape[0], dim=0)
        a = torch.softmax(torch.matmul(q, kr.transpose(1, 2)) / math.sqrt(q.shape[-1]), dim=-1)  # [H, T, N]
        layer_peak = a.max(dim=0).values                                                         # [T, N]
        peak = layer_peak if peak is None else torch.maximum(peak, layer_peak)
    o = peak.mean(dim=0)
    return avg_pool(o, POOL_ORACLE) if n >= POOL_ORACLE else o


def causal_attention(q, k):
    """Full causal softmax attention of one layer's prompt: [H, N, N] (fp32, 1/sqrt(d) scaling)."""
    H, N, d = q.shape
    kr = k.repeat_interleave(H // k.shape[0], dim=0)
    a = torch.matmul(q, kr.transpose(1, 2)) / math.sqrt(d)
    a = a.masked_fill(torch.ones(N, N, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(a, dim=-1, dtype=torch.float32)


def h2o_scores(attn, hkv):
    """H2O / observed attention (method.md §2 baselines; kvpress presses/observed_attention_press.py):
    causal attention column sums over all N prompt queries, divided by the number of queries that
    see key j (N - j, kvpress's count; on a sliding-window layer claa counts at most the window, and
    tests/oracle/test_architecture_scores.cpp rescales this reference there). Per KV head = SUM over the G query heads of the group (kvpress takes the
    mean; the ranking is the same, the scale is G times larger). Returns ([Hkv, N], layer [N] =
    sum over KV heads)."""
    H, N, _ = attn.shape
    cols = attn.sum(dim=1) / torch.arange(N, 0, -1, dtype=torch.float32)       # [H, N]
    heads = cols.view(hkv, H // hkv, N).sum(dim=1)
    return heads, heads.sum(dim=0)


def tova_scores(attn, hkv):
    """TOVA (Oren et al. 2024; kvpress presses/tova_press.py): the last prompt query's softmax
    attention per query head. Layer ranking = mean over all H heads; per KV head = mean over the
    G heads of its group. All N keys are scored (kvpress drops the last key and pads it with the
    row max; here the last key keeps its own weight). Returns ([Hkv, N], [N])."""
    H, N, _ = attn.shape
    last = attn[:, -1, :]                                                      # [H, N]
    return last.view(hkv, H // hkv, N).mean(dim=1), last.mean(dim=0)


def knorm_scores(k):
    """KNorm (Devoto et al. 2024; kvpress presses/knorm_press.py): -||k|| of the post-RoPE key,
    per KV head [Hkv, N]; layer ranking = mean over KV heads [N]."""
    heads = -k.norm(dim=-1)
    return heads, heads.mean(dim=0)


def specprefill_scores(answer_queries, prompt_keys, n, steps):
    """Speculative Prefill, self-draft (method.md §2; kv-exps FastKV/baseline/speculative_prefill/
    main.py, _compute_raw_qk_scores + _token_importance_from_attn_scores): queries = the first
    `steps` answer queries (last prompt position + fed-back look-ahead tokens), softmax over the N
    prompt keys, each [N] row avg-pooled (kernel 7) BEFORE the max over (layer, head), then the
    mean over steps. fp32 here (the authors' softmax runs in bf16)."""
    peak = None
    for layer, q in answer_queries.items():     # q [H, T, d]
        q = q[:, :steps, :]
        k = prompt_keys[layer][:, :n, :]
        kr = k.repeat_interleave(q.shape[0] // k.shape[0], dim=0)
        a = torch.softmax(torch.matmul(q, kr.transpose(1, 2)) / math.sqrt(q.shape[-1]), dim=-1)  # [H, T, N]
        a = avg_pool(a, POOL_SPECPREFILL)
        layer_peak = a.max(dim=0).values                                                         # [T, N]
        peak = layer_peak if peak is None else torch.maximum(peak, layer_peak)
    return peak.mean(dim=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true", help="also record HF's bf16 logits (CUDA)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)

    tok, model = load_model(args.gguf, torch.float32, args.device)
    eos_ids = [2]
    reference = {"model": os.path.basename(args.gguf), "transformers": __import__("transformers").__version__,
                 "torch": torch.__version__, "prompts": {}}
    blobs = []          # (name, tensor) appended to the .f32 file
    later_blobs = []    # tensors added after the first fixture: written after `blobs`
    index = {}

    for name, text in PROMPTS.items():
        ids_list = tok(text, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ids_list], device=args.device)
        n = len(ids_list)
        CAPTURE.active = False
        tokens, logits0 = greedy(model, ids, GREEDY_STEPS, stop_at_eos=False, eos_ids=eos_ids)
        entry = {"text": text, "input_ids": ids_list, "logits": logit_summary(logits0), "greedy_tokens": tokens}

        # Oracle answer: greedy until EOS or ORACLE_MAX_NEW, capturing queries/keys.
        CAPTURE.reset()
        CAPTURE.active = True
        answer, _ = greedy(model, ids, ORACLE_MAX_NEW, stop_at_eos=True, eos_ids=eos_ids)
        CAPTURE.active = False
        entry["answer_tokens"] = answer
        entry["answer_text"] = tok.decode(answer)
        prefill_q = {l: qs[0] for l, qs in CAPTURE.queries.items()}              # [H, N, d]
        # Oracle queries: last prompt position + each fed-back answer token (all decode calls).
        answer_q = {l: torch.cat([qs[0][:, -1:, :]] + qs[1:], dim=1) for l, qs in CAPTURE.queries.items()}
        keys = CAPTURE.keys                                                       # whole cache
        entry["oracle_queries"] = int(next(iter(answer_q.values())).shape[1])
        if name != "short":
            o = oracle(answer_q, keys, n)
            blobs.append((f"{name}/oracle", o))
            windows = {l: window_scores(prefill_q[l], keys[l][:, :n, :]) for l in sorted(prefill_q)}
            for l in sorted(prefill_q):
                blobs.append((f"{name}/fastkv/{l}", windows[l].sum(0)))
                blobs.append((f"{name}/fastkv_heads/{l}", windows[l]))
                blobs.append((f"{name}/gemfilter/{l}", gemfilter_scores(prefill_q[l], keys[l][:, :n, :])))
                blobs.append((f"{name}/claa/{l}", claa_scores(windows, l)))
            hkv = keys[0].shape[0]
            for l in sorted(prefill_q):
                attn = causal_attention(prefill_q[l], keys[l][:, :n, :])
                heads, layer = h2o_scores(attn, hkv)
                later_blobs.append((f"{name}/h2o_heads/{l}", heads))
                later_blobs.append((f"{name}/h2o/{l}", layer))
                heads, layer = tova_scores(attn, hkv)
                later_blobs.append((f"{name}/tova_heads/{l}", heads))
                later_blobs.append((f"{name}/tova/{l}", layer))
                del attn
                heads, layer = knorm_scores(keys[l][:, :n, :])
                later_blobs.append((f"{name}/knorm_heads/{l}", heads))
                later_blobs.append((f"{name}/knorm/{l}", layer))
            # Self-draft look-ahead = the first k tokens of this same greedy answer (stopping at EOS):
            # queries = last prompt position + the first k - 1 of them fed back (the last generated
            # look-ahead token is never fed back), i.e. the first min(k, T) oracle queries.
            steps = min(SPEC_LOOKAHEAD, len(answer))
            later_blobs.append((f"{name}/specprefill", specprefill_scores(answer_q, keys, n, steps)))
            entry["specprefill_queries"] = steps
            # The authors' loop (speculative_prefill/main.py, run(): `for i in range(look_ahead_k)`
            # feeds the prefill's token and k - 1 more, i.e. k fed-back tokens and k + 1 queries
            # when no EOS comes first). Kept as a second vector for an option that follows it.
            steps_authors = min(SPEC_LOOKAHEAD + 1, len(answer))
            later_blobs.append((f"{name}/specprefill_authors",
                                specprefill_scores(answer_q, keys, n, steps_authors)))
            entry["specprefill_authors_queries"] = steps_authors
        reference["prompts"][name] = entry
        print(f"{name}: {n} tokens, answer {entry['answer_text']!r}", flush=True)

    if args.bf16:
        _, model16 = load_model(args.gguf, torch.bfloat16, args.device)
        for name, entry in reference["prompts"].items():
            ids = torch.tensor([entry["input_ids"]], device=args.device)
            tokens, logits0 = greedy(model16, ids, GREEDY_STEPS, stop_at_eos=False, eos_ids=eos_ids)
            entry["bf16"] = {"logits": logit_summary(logits0), "greedy_tokens": tokens,
                             "max_abs_diff_vs_fp32_top50": None}
            fp32_top = entry["logits"]
            diffs = [abs(logits0[i].item() - v) for i, v in zip(fp32_top["top_ids"], fp32_top["top_values"])]
            entry["bf16"]["max_abs_diff_vs_fp32_top50"] = max(diffs)

    offset = 0
    with open(os.path.join(args.out, "scores_reference.f32"), "wb") as f:
        for key, t in blobs + later_blobs:
            flat = t.float().contiguous().view(-1)
            f.write(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
            index[key] = {"offset": offset, "shape": list(t.shape)}
            offset += flat.numel()
    with open(os.path.join(args.out, "scores_reference.json"), "w") as f:
        json.dump({"window": W, "pool_oracle": POOL_ORACLE, "pool_fastkv": POOL_FASTKV,
                   "pool_gemfilter": POOL_GEMFILTER, "claa_n": CLAA_N,
                   "pool_specprefill": POOL_SPECPREFILL, "specprefill_lookahead": SPEC_LOOKAHEAD,
                   "tensors": index}, f)
    with open(os.path.join(args.out, "model_reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
