#!/usr/bin/env python3
"""Write a tiny HF model folder (tools/make_tiny_models.py) as a GGUF file, the way llama.cpp's
convert_hf_to_gguf.py lays it out, using only the `gguf` package (gguf-py, llama.cpp's own Python
library): tensor names from gguf's TensorNameMap for the architecture, metadata keys from its
GGUFWriter, and llama.cpp's Q/K row permutation for the `llama` architecture (LlamaModel.permute in
convert_hf_to_gguf.py; Qwen2/Qwen3 use NEOX RoPE there and are written unpermuted). Tensors stay F32,
so claa's GGUF path must reproduce HF's logits of the same folder to fp32 precision.

The tiny models have no tokenizer; the file holds none (claa's tests feed token ids).

Checked once against HF's own GGUF reader (transformers 5.2, `from_pretrained(folder, gguf_file=...)`):
the Mistral file gives the folder's logits within 7e-6, the Qwen3 file within 3e-6 once head_dim=32 is
passed (transformers' GGUF config mapping ignores qwen3.attention.key_length and assumes 128).

Usage: ~/.venvs/ref/bin/python tools/tiny_to_gguf.py tests/fixtures/model/tiny/qwen3 tests/fixtures/model/tiny/qwen3.gguf
"""
import json
import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

ARCH = {"llama": gguf.MODEL_ARCH.LLAMA, "mistral": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2,
        "qwen3": gguf.MODEL_ARCH.QWEN3}


def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: HF's half-split rotary rows -> interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main(folder, out):
    cfg = json.load(open(f"{folder}/config.json"))
    model_type = cfg["model_type"]
    arch = ARCH[model_type]
    n_layers, n_head = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head
    rope = cfg.get("rope_parameters") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    assert rope.get("rope_type", "default") == "default", "rope scaling is not written by this tool"

    w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])
    w.add_block_count(n_layers)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(float(theta))
    w.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    w.add_vocab_size(cfg["vocab_size"])
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], int) else cfg["eos_token_id"][0])

    names = gguf.get_tensor_name_map(arch, n_layers)
    tensors = {}
    for path in sorted(__import__("glob").glob(f"{folder}/*.safetensors")):
        tensors.update(load_file(path))
    if cfg.get("tie_word_embeddings"):
        tensors.pop("lm_head.weight", None)  # llama.cpp writes no output.weight for tied embeddings
    for hf_name, t in sorted(tensors.items()):
        t = t.astype(np.float32)
        if arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith("q_proj.weight"):
            t = permute(t, n_head)
        if arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith("k_proj.weight"):
            t = permute(t, n_kv)
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"gguf has no name for {hf_name}"
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out}: {gguf.MODEL_ARCH_NAMES[arch]}, {len(tensors)} tensors")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
