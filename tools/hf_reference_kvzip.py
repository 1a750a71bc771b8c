#!/usr/bin/env python3
"""HF reference for KVzip (Kim et al. 2025, arXiv 2505.23416) on the needle_a prompt of tools/hf_reference.py.

The algorithm is kvpress's (NVIDIA/kvpress kvpress/presses/kvzip_press.py), run here with HF transformers'
own model (eager fp32, the same GGUF claa loads) and its DynamicCache:
  - the chat prefix / suffix from the tokenizer's chat template rendered around a dummy user message that
    ends in a separator (KVzipPress.__call__); the prefix's token count is where the context starts;
  - the context prefilled into the cache; then per chunk of the context (chunk_size tokens from the prefix
    on) the ids "\\n\\nRepeat the previous context exactly." (first chunk) or "\\n\\nRepeat the part of the
    previous context exactly, starting with" + the previous chunk's last 8 ids, then the suffix, then the
    chunk, run over the cache, which is cropped back to the context afterwards (KVzipPress.prepare);
  - per layer, the post-RoPE queries of those ids against [sink keys (min(4, start)), the chunk's context
    keys, the new keys] with a causal mask on the new keys, softmax, the chunk's columns, max over the G
    heads of each group and over the queries (KVzipPress.score_kvzip); the first 4 positions score 1.
claa's prompts hold the question inside the user turn; kvpress prefills the context alone. The adaptation
(heuristics/kvzip.cpp): the context is the prompt without its trailing chat suffix, which scores 1.
chunk_size is 512 here (kvpress: 2048) so that the ~1.2K-token prompt spans three chunks; the C++ test
passes the same value.

Writes tests/fixtures/model/kvzip_reference.{json,f32}: per layer the [H_kv, N] scores ("kvzip_heads/l"),
plus the frame (prefix length, suffix ids, the two request id lists) for the C++ frame check.
  ~/.venvs/ref/bin/python tools/hf_reference_kvzip.py --gguf ~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf \\
      --out tests/fixtures/model
"""

import json
import math
import os
import struct
import sys

import torch
from transformers import DynamicCache

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402

CHUNK = 512
N_SINK = 4
PREV_POSTFIX = 8
FIRST = "\n\nRepeat the previous context exactly."
LATER = "\n\nRepeat the part of the previous context exactly, starting with"


def encode(tok, text):
    return tok.encode(text, add_special_tokens=False)


def prefix_and_suffix(tok):
    dummy = "dummy context"
    separator = "\n" + "#" * len(dummy)
    if tok.chat_template is not None:
        text = tok.apply_chat_template([{"role": "user", "content": dummy + separator}], add_generation_prompt=True,
                                       tokenize=False)
    else:  # the GGUF carried no template: SmolLM2's ChatML, as hf_reference.py renders its prompts
        text = ref.chatml(dummy + separator)
    context, suffix = text.split(separator)
    return context.split(dummy)[0], suffix


@torch.no_grad()
def kvzip_scores(model, tok, ids):
    prefix, suffix = prefix_and_suffix(tok)
    prefix_len = len(encode(tok, prefix))
    suffix_ids = encode(tok, suffix)
    n = len(ids)
    assert ids[n - len(suffix_ids):] == suffix_ids, "the prompt does not end with the chat suffix"
    context_len = n - len(suffix_ids)
    cfg = model.config
    L, Hkv = cfg.num_hidden_layers, cfg.num_key_value_heads
    scores = torch.zeros(L, Hkv, n)
    scores[..., :N_SINK] = 1.0
    scores[..., context_len:] = 1.0

    cache = DynamicCache()
    model(input_ids=torch.tensor([ids[:context_len]]), past_key_values=cache, use_cache=True)
    ctx = ids[prefix_len:context_len]
    chunks = [ctx[i:i + CHUNK] for i in range(0, len(ctx), CHUNK)]
    start = prefix_len
    for i, chunk in enumerate(chunks):
        q_ids = encode(tok, FIRST) if i == 0 else encode(tok, LATER) + chunks[i - 1][-PREV_POSTFIX:]
        repeat = q_ids + suffix_ids + chunk
        end = start + len(chunk)
        ref.CAPTURE.reset()
        ref.CAPTURE.active = True
        model(input_ids=torch.tensor([repeat]), past_key_values=cache, use_cache=True)
        ref.CAPTURE.active = False
        for l in range(L):
            q = ref.CAPTURE.queries[l][0]          # [H, T, d]
            k = ref.CAPTURE.keys[l]                # [Hkv, context_len + T, d]
            H, T, d = q.shape
            G = H // Hkv
            sink = min(N_SINK, start)
            width = end - start
            keys = torch.cat([k[:, :sink], k[:, start:end], k[:, -T:]], dim=1)      # [Hkv, K, d]
            attn = torch.matmul(q.view(Hkv, G, T, d), keys.unsqueeze(1).transpose(-2, -1)) / math.sqrt(d)
            mask = torch.full((T, T), torch.finfo(attn.dtype).min)
            cond = torch.arange(T)
            mask.masked_fill_(cond < (cond + 1).view(T, 1), 0)
            attn[..., -T:, -T:] += mask
            attn = torch.softmax(attn, dim=-1)[..., sink:sink + width]
            scores[l, :, start:end] = attn.amax(dim=(-3, -2))
        for layer in cache.layers:  # back to the context, as kvpress's hook does (KVzipPress.score_kvzip)
            layer.keys = layer.keys[:, :, :context_len]
            layer.values = layer.values[:, :, :context_len]
        assert cache.get_seq_length() == context_len
        start = end
    frame = {"context_begin": prefix_len, "context_end": context_len, "suffix": suffix_ids,
             "first_request": encode(tok, FIRST), "later_request": encode(tok, LATER)}
    return scores, frame


def main():
    args, tok, model = ref.cpu_reference_setup(__doc__)
    ids = tok(ref.PROMPTS["needle_a"], add_special_tokens=False)["input_ids"]
    scores, frame = kvzip_scores(model, tok, ids)
    index, offset = {}, 0
    with open(os.path.join(args.out, "kvzip_reference.f32"), "wb") as f:
        for l in range(scores.shape[0]):
            flat = scores[l].float().contiguous().view(-1)
            f.write(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
            index[f"kvzip_heads/{l}"] = {"offset": offset, "shape": list(scores[l].shape)}
            offset += flat.numel()
    with open(os.path.join(args.out, "kvzip_reference.json"), "w") as f:
        json.dump({"prompt": "needle_a", "input_ids": ids, "chunk_size": CHUNK, "n_sink": N_SINK,
                   "prev_postfix": PREV_POSTFIX, "frame": frame,
                   "transformers": __import__("transformers").__version__, "torch": torch.__version__,
                   "tensors": index}, f)
    print(f"needle_a: {len(ids)} tokens, frame {frame['context_begin']}..{frame['context_end']}; wrote {args.out}")


if __name__ == "__main__":
    main()
