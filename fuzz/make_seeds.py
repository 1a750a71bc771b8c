#!/usr/bin/env python3
"""Writes the generated part of the committed seed corpus (fuzz/corpus/): small valid GGUF and
safetensors files that reach deep into their readers. The other seeds are copies of fixtures and
configs (see fuzz/README.md). Deterministic; rerun after changing a format writer."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, vtype, payload):
    return gguf_string(key) + struct.pack("<I", vtype) + payload


def gguf_file(with_tokenizer, qtype=0):
    tokens = ["a", "b", "c", "ab", "abc", "Ġ", "<|im_start|>", "<|im_end|>", "1", "2"]
    merges = ["a b", "ab c"]
    kvs = [
        gguf_kv("general.architecture", 8, gguf_string("llama")),
        gguf_kv("llama.block_count", 4, struct.pack("<I", 1)),
        gguf_kv("llama.embedding_length", 4, struct.pack("<I", 32)),
        gguf_kv("llama.attention.head_count", 4, struct.pack("<I", 2)),
        gguf_kv("llama.attention.head_count_kv", 4, struct.pack("<I", 1)),
        gguf_kv("llama.feed_forward_length", 4, struct.pack("<I", 64)),
        gguf_kv("llama.context_length", 4, struct.pack("<I", 128)),
        gguf_kv("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
        gguf_kv("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
        gguf_kv("general.flag", 7, struct.pack("<?", True)),
        gguf_kv("general.big", 10, struct.pack("<Q", 1 << 40)),
        gguf_kv("general.ratio", 12, struct.pack("<d", 0.5)),
    ]
    if with_tokenizer:
        arr = lambda etype, items: struct.pack("<IQ", etype, len(items)) + b"".join(items)
        kvs += [
            gguf_kv("tokenizer.ggml.model", 8, gguf_string("gpt2")),
            gguf_kv("tokenizer.ggml.pre", 8, gguf_string("smollm")),
            gguf_kv("tokenizer.ggml.tokens", 9, arr(8, [gguf_string(t) for t in tokens])),
            gguf_kv("tokenizer.ggml.token_type", 9, arr(5, [struct.pack("<i", 3 if t.startswith("<|") else 1) for t in tokens])),
            gguf_kv("tokenizer.ggml.merges", 9, arr(8, [gguf_string(m) for m in merges])),
            gguf_kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 6)),
            gguf_kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 7)),
            gguf_kv("tokenizer.chat_template", 8, gguf_string("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")),
        ]
    # One tensor: token_embd.weight [vocab=10, hidden=32] in F32 (type 0) or Q8_0 (type 8).
    ne = [32, len(tokens)]
    if qtype == 0:
        payload = struct.pack("<%df" % (32 * len(tokens)), *[(i % 7) / 7.0 for i in range(32 * len(tokens))])
    else:  # Q8_0: blocks of 32 values = f16 scale + 32 int8
        payload = b"".join(struct.pack("<e", 0.01) + bytes((i * 3 + j) % 256 for j in range(32)) for i in range(len(tokens)))
    infos = gguf_string("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", *ne) + struct.pack("<IQ", qtype, 0)
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs) + infos
    pad = (-len(header)) % 32
    return header + b"\0" * pad + payload


def safetensors_file(tensors):
    header, buf = {"__metadata__": {"format": "pt"}}, b""
    for name, dtype, shape, elem in tensors:
        n = 1
        for d in shape:
            n *= d
        data = bytes((i * 7) % 251 for i in range(n * elem))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(buf), len(buf) + len(data)]}
        buf += data
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + buf


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, "corpus", folder), exist_ok=True)
    with open(os.path.join(HERE, "corpus", folder, name), "wb") as f:
        f.write(data)


write("gguf", "tiny_llama_tokenizer.gguf", gguf_file(True))
write("gguf", "tiny_llama_q8_0.gguf", gguf_file(False, qtype=8))
write("safetensors", "two_tensors.safetensors",
      safetensors_file([("model.embed_tokens.weight", "F32", [4, 8], 4), ("lm_head.weight", "BF16", [4, 8], 2)]))
write("safetensors", "f16_scalar.safetensors", safetensors_file([("x", "F16", [3], 2), ("y", "I64", [], 8)]))


# SentencePiece kinds (issue 29): a handmade SentencePiece-style tokenizer.json with every
# normalizer and decoder step, a Metaspace variant, and a GGUF tokenizer of type "llama".
SP = "\u2581"
sp_pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
    [SP, "a", "b", "c", "d", "e", "\u00e9", SP + "a", "ab", SP + "ab", "cd", SP + "abcd"]
sp_vocab = {p: i for i, p in enumerate(sp_pieces)}
sp_model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": sp_vocab, "merges": [[SP, "a"], ["a", "b"], [SP + "a", "b"], ["c", "d"], [SP + "ab", "cd"]]}
sp_added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True} for i, t in enumerate(["<unk>", "<s>", "</s>"])]
sp_decoder = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": SP}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
sp_normalizer = {"type": "Sequence", "normalizers": [
    {"type": "NFKC"}, {"type": "Strip", "strip_left": False, "strip_right": True},
    {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}, {"type": "Prepend", "prepend": SP},
    {"type": "Replace", "pattern": {"String": " "}, "content": SP}, {"type": "Sequence", "normalizers": []}]}
write("tokenizer_json", "spm_normalizers.json", json.dumps(
    {"version": "1.0", "added_tokens": sp_added, "normalizer": sp_normalizer, "pre_tokenizer": None,
     "post_processor": None, "decoder": sp_decoder, "model": sp_model}, ensure_ascii=False).encode("utf-8"))
write("tokenizer_json", "spm_metaspace.json", json.dumps(
    {"version": "1.0", "added_tokens": sp_added, "normalizer": {"type": "NFC"},
     "pre_tokenizer": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first", "split": True},
     "post_processor": None, "decoder": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first"},
     "model": dict(sp_model, byte_fallback=False)}, ensure_ascii=False).encode("utf-8"))


def gguf_llama_tokenizer():
    arr = lambda etype, items: struct.pack("<IQ", etype, len(items)) + b"".join(items)
    types = [2, 3, 3] + [6] * 256 + [1] * (len(sp_pieces) - 259)
    kvs = [
        gguf_kv("general.architecture", 8, gguf_string("llama")),
        gguf_kv("tokenizer.ggml.model", 8, gguf_string("llama")),
        gguf_kv("tokenizer.ggml.tokens", 9, arr(8, [gguf_string(t) for t in sp_pieces])),
        gguf_kv("tokenizer.ggml.scores", 9, arr(6, [struct.pack("<f", -float(i)) for i in range(len(sp_pieces))])),
        gguf_kv("tokenizer.ggml.token_type", 9, arr(5, [struct.pack("<i", t) for t in types])),
        gguf_kv("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)),
        gguf_kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2)),
        gguf_kv("tokenizer.ggml.unknown_token_id", 4, struct.pack("<I", 0)),
        gguf_kv("tokenizer.ggml.add_space_prefix", 7, struct.pack("<?", True)),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)
    return header + b"\0" * ((-len(header)) % 32)


write("gguf", "tiny_spm_llama_tokenizer.gguf", gguf_llama_tokenizer())
