#!/usr/bin/env python3
"""Write a tiny HF model folder (tools/make_tiny_models.py) as a GGUF file, the way llama.cpp's
convert_hf_to_gguf.py lays it out, using only the `gguf` package (gguf-py, llama.cpp's own Python
library): tensor names from gguf's TensorNameMap for the architecture, metadata keys from its
GGUFWriter, and the transforms the converter applies. Tensors stay F32, so claa's GGUF path must
reproduce HF's logits of the same folder to fp32 precision.

What the converter does per architecture (convert_hf_to_gguf.py, since split into conversion/*.py;
read at ggml-org/llama.cpp 00bd27a6 / 2bbcf7fc):
- llama / mistral (LlamaModel): Q/K rows permuted from HF's half-split rotary layout to interleaved
  pairs (LlamaModel.permute); qwen2 / qwen3 use NEOX RoPE in llama.cpp and are written unpermuted.
- phi3 (Phi3MiniModel): fused qkv_proj -> attn_qkv and gate_up_proj -> ffn_up (gate rows first) as
  they are; no key_length (head_dim = hidden / heads); rope.scaling.original_context_length; the
  sliding window (0 when null); with LongRoPE factors the tensors rope_factors_long / rope_factors_short
  and rope.scaling.attn_factor = sqrt(1 + ln(s) / ln(original)), s = max positions / original.
- gemma2 (Gemma2Model): every "*norm.weight" stored + 1 (Gemma's RMSNorm scales by 1 + w); key/value
  length = head_dim, attn_logit_softcapping, final_logit_softcapping, sliding_window; no rope base
  (llama.cpp's default 10000); lm_head.weight dropped (llama.cpp always ties Gemma 2's output).
- gemma3 (Gemma3Model over TextModel.set_gguf_parameters): norms + 1 (q/k norms too), rope.freq_base of
  the full-attention layers, rope.freq_base_swa of the sliding ones, the linear rope scaling of the
  full layers (rope.scaling.type / factor), sliding_window, final soft-cap if set. The sliding pattern
  (5 of 6) is not written: llama.cpp hard-codes it. (The converter also trims token_embd to the
  tokenizer's vocabulary; the tiny models have no tokenizer, so nothing is trimmed.)
- Neither Gemma converter writes query_pre_attn_scalar: llama.cpp derives the attention scale from the
  model size (hidden / heads for the 27B models, head_dim otherwise).

Where the tiny models go beyond real checkpoints, this tool writes what the converter would lose,
so that the file still describes the folder (each is a departure from the converter, listed here):
- gemma2: the tiny model's lm_head is untied, so output.weight is written (the converter drops it);
- gemma2 / gemma3: when query_pre_attn_scalar matches neither llama.cpp rule, the scale
  query_pre_attn_scalar^-1/2 is written as {arch}.attention.scale (GGUF's key for the q.k scale,
  which llama.cpp reads for other architectures). The tiny gemma2 (24 vs head_dim 16) gets it; the
  tiny gemma3 (16 = head_dim) does not, so it exercises claa's fallback;
- gemma2 / gemma3: when the folder's layer_types differ from llama.cpp's hard-coded pattern (a layer
  slides unless l % n == n - 1; n = 2 for Gemma 2, 6 for Gemma 3), one flag per layer is written as
  {arch}.attention.sliding_window_pattern (true = sliding, the form llama.cpp reads for Gemma 4). The
  tiny gemma3 has 2 layers, [sliding, full]; llama.cpp's pattern would slide both.

The tiny models have no tokenizer; the file holds none (claa's tests feed token ids).

Checked once against HF's own GGUF reader (transformers 5.2, `from_pretrained(folder, gguf_file=...)`):
the Mistral file gives the folder's logits within 7e-6, the Qwen3 file within 3e-6 once head_dim=32 is
passed (transformers' GGUF config mapping ignores qwen3.attention.key_length and assumes 128).
The Phi-3, Gemma 2 and Gemma 3 files were checked the same way (transformers 5.2, eager attention, the
reference input of tests/fixtures/model/tiny/reference.json): each gives the folder's last logits
exactly (max |diff| 0.0) once transformers is given what its GGUF config mapping does not read - vocab_size and
pad_token_id (no tokenizer in the file); for phi3 the LongRoPE rope_parameters (it ignores the
rope_factors tensors); for gemma2 query_pre_attn_scalar and both soft-caps, and the untied lm_head
copied in (its Gemma 2 mapping, like llama.cpp, has no output tensor); for gemma3
query_pre_attn_scalar, rope_parameters and layer_types. Without these it differs by 5 to 8 in the
logits - the file's weights are right, and those are the fields claa reads from the file or from
llama.cpp's rules instead.

Usage: ~/.venvs/ref/bin/python tools/tiny_to_gguf.py tests/fixtures/model/tiny/qwen3 tests/fixtures/model/tiny/qwen3.gguf
"""
import glob
import json
import math
import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

ARCH = {"llama": gguf.MODEL_ARCH.LLAMA, "mistral": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2,
        "qwen3": gguf.MODEL_ARCH.QWEN3, "phi3": gguf.MODEL_ARCH.PHI3, "gemma2": gguf.MODEL_ARCH.GEMMA2,
        "gemma3_text": gguf.MODEL_ARCH.GEMMA3}
GEMMA = (gguf.MODEL_ARCH.GEMMA2, gguf.MODEL_ARCH.GEMMA3)
# llama.cpp's model sizes whose attention scale is (hidden / heads)^-1/2 (llama-model.cpp, gemma2: 46
# layers = 27B, gemma3: 62 layers = 27B); every other size uses head_dim^-1/2.
GEMMA_27B_LAYERS = {gguf.MODEL_ARCH.GEMMA2: 46, gguf.MODEL_ARCH.GEMMA3: 62}


def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: HF's half-split rotary rows -> interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope_parameters(cfg):
    """TextModel.__init__: rope_parameters (transformers 5) or rope_scaling, with rope_theta mirrored."""
    rope = dict(cfg.get("rope_parameters") or cfg.get("rope_scaling") or {})
    if "full_attention" not in rope and "rope_theta" not in rope and "rope_theta" in cfg:
        rope["rope_theta"] = cfg["rope_theta"]
    return rope


def write_llama_family(w, cfg, head_dim):
    rope = rope_parameters(cfg)
    assert rope.get("rope_type", "default") == "default", "rope scaling is not written by this tool"
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_freq_base(float(rope.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    w.add_vocab_size(cfg["vocab_size"])


def write_phi3(w, cfg):
    """Phi3MiniModel.set_gguf_parameters; returns the extra tensors of generate_extra_tensors."""
    rope = rope_parameters(cfg)
    n_embd, n_head = cfg["hidden_size"], cfg["num_attention_heads"]
    max_pos = cfg["max_position_embeddings"]
    orig = rope.get("original_max_position_embeddings", cfg.get("original_max_position_embeddings"))
    rope_dims = int(rope.get("partial_rotary_factor", 1.0) * n_embd) // n_head
    w.add_context_length(max_pos)
    w.add_rope_scaling_orig_ctx_len(orig)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(n_head)
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_dimension_count(rope_dims)
    w.add_rope_freq_base(rope["rope_theta"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_sliding_window(cfg.get("sliding_window") or 0)
    long_factors, short_factors = rope.get("long_factor"), rope.get("short_factor")
    if not long_factors:
        return {}
    scale = max_pos / orig
    assert rope.get("rope_type", "").lower() in ("su", "longrope")
    w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig)) if scale > 1.0 else 1.0)
    assert len(long_factors) == len(short_factors) == rope_dims // 2
    return {gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FACTORS_LONG] + ".weight": np.array(long_factors, np.float32),
            gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FACTORS_SHORT] + ".weight": np.array(short_factors, np.float32)}


def write_gemma2(w, cfg):
    """Gemma2Model.set_gguf_parameters."""
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg.get("num_key_value_heads", cfg["num_attention_heads"]))
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_attn_logit_softcapping(cfg["attn_logit_softcapping"])
    w.add_final_logit_softcapping(cfg["final_logit_softcapping"])
    w.add_sliding_window(cfg["sliding_window"])


def write_gemma3(w, cfg):
    """TextModel.set_gguf_parameters (the keys a Gemma 3 config reaches), then Gemma3Model's own."""
    rope = rope_parameters(cfg)
    full = rope.get("full_attention", rope)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    if full.get("rope_type") == "linear" and full.get("factor") is not None:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(full["factor"])
    else:
        assert full.get("rope_type", "default") == "default", "this rope scaling is not written by this tool"
    if full.get("rope_theta") is not None:
        w.add_rope_freq_base(full["rope_theta"])
    if (local := rope.get("sliding_attention", {}).get("rope_theta")) is not None:
        w.add_rope_freq_base_swa(local)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    # Gemma3Model.set_gguf_parameters (the repeated keys above are written once here)
    assert cfg.get("attn_logit_softcapping") is None
    if final := cfg.get("final_logit_softcapping"):
        w.add_final_logit_softcapping(final)
    if cfg.get("sliding_window_pattern") != 1:
        w.add_sliding_window(cfg["sliding_window"])


def main(folder, out):
    cfg = json.load(open(f"{folder}/config.json"))
    model_type = cfg["model_type"]
    arch = ARCH[model_type]
    n_layers, n_head = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // n_head

    w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])
    extra = {}
    if arch == gguf.MODEL_ARCH.PHI3:
        extra = write_phi3(w, cfg)
    elif arch == gguf.MODEL_ARCH.GEMMA2:
        write_gemma2(w, cfg)
    elif arch == gguf.MODEL_ARCH.GEMMA3:
        write_gemma3(w, cfg)
    else:
        write_llama_family(w, cfg, head_dim)
    if arch in GEMMA:
        qpas = cfg.get("query_pre_attn_scalar", head_dim)
        derived = cfg["hidden_size"] // n_head if n_layers == GEMMA_27B_LAYERS[arch] else head_dim
        if qpas != derived:  # departure: llama.cpp would use derived^-1/2
            w.add_attention_scale(qpas ** -0.5)
    if arch in GEMMA and "layer_types" in cfg:
        period = 2 if arch == gguf.MODEL_ARCH.GEMMA2 else 6
        flags = [t == "sliding_attention" for t in cfg["layer_types"]]
        if flags != [l % period < period - 1 for l in range(n_layers)]:  # departure: see the docstring
            w.add_sliding_window_pattern(flags)
    w.add_bos_token_id(cfg["bos_token_id"])
    w.add_eos_token_id(cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], int) else cfg["eos_token_id"][0])

    names = gguf.get_tensor_name_map(arch, n_layers)
    tensors = {}
    for path in sorted(glob.glob(f"{folder}/*.safetensors")):
        tensors.update(load_file(path))
    if cfg.get("tie_word_embeddings"):
        tensors.pop("lm_head.weight", None)  # llama.cpp writes no output.weight for tied embeddings
    for name, t in extra.items():  # generate_extra_tensors comes first in prepare_tensors
        w.add_tensor(name, t)
    for hf_name, t in sorted(tensors.items()):
        t = t.astype(np.float32)
        if arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith("q_proj.weight"):
            t = permute(t, n_head)
        if arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith("k_proj.weight"):
            t = permute(t, n_kv)
        if arch in GEMMA and hf_name.endswith("norm.weight"):
            t = t + np.float32(1)  # Gemma2Model / Gemma3Model.modify_tensors: RMSNorm's (1 + w) stored
        if arch == gguf.MODEL_ARCH.GEMMA2 and hf_name == "lm_head.weight":
            name = gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.OUTPUT] + ".weight"  # departure: see the docstring
        else:
            name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"gguf has no name for {hf_name}"
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out}: {gguf.MODEL_ARCH_NAMES[arch]}, {len(tensors) + len(extra)} tensors")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
