"""python -m claa_worker.kvpress_worker 'PRESS(key=value,...)': a kvpress press's own score() as a claa
heuristic (`--heuristics 'kvpress:SnapKVPress(window_size=64,kernel_size=5)'`; docs/reference.md
"External heuristics"). Needs torch, transformers and kvpress (0.5.5 is the version checked).

Per layer claa sends the hidden state entering the layer, the keys and values after RoPE, the
positions and the layer's weights; this rebuilds the layer's HF attention module from those weights
(the memory of one attention block, kept per layer: the q/k/v/o projections of every layer once), applies
the layer's input RMSNorm (kvpress's hooks see the attention's input, after the norm), builds RoPE's
position embeddings from claa's inverse frequencies, and calls press.score(module, hidden_states,
keys, values, attentions=None, kwargs) exactly as kvpress's forward hook does under SDPA attention
(kvpress/presses/base_press.py forward_hook). The press's scores [1, H_kv, N] go back as [H_kv, N].

PRESS is evaluated as a Python expression in the kvpress namespace, so presses that wrap presses work:
kvpress:CriticalKVPress(press=SnapKVPress()). Only ScorerPress subclasses have a score() to compare;
the others are refused with the reason.
"""

import json
import os
import sys

from claa_worker.__main__ import protocol_channel


# ScorerPresses whose score() cannot run on what claa sends, and why (docs/reference.md).
UNSUPPORTED = {
    "ObservedAttentionPress": "it reads the eager attention matrix of every query (N x N per head), which claa "
                              "does not send (claa's h2o is the same score)",
    "QFilterPress": "it needs its trained Q-filters from the Hugging Face hub, and claa never downloads",
    "KVzapPress": "it needs its trained KVzap model from the Hugging Face hub, and claa never downloads",
    "ExpectedAttentionStatsPress": "it needs query statistics precomputed per model from the Hugging Face hub, "
                                   "and claa never downloads",
}


def make_press(text):
    import kvpress

    namespace = {name: getattr(kvpress, name) for name in dir(kvpress) if not name.startswith("_")}
    press = eval(text, {"__builtins__": {}}, namespace)  # the user's own spec, in kvpress's namespace
    if not isinstance(press, kvpress.ScorerPress):
        raise TypeError(f"{type(press).__name__} is not a ScorerPress: it has no per-token score() to hold "
                        "against the oracle (it changes how the cache is compressed or the model itself)")
    inner = press
    while inner is not None:  # wrappers (CriticalKVPress(press=...)) score with their inner press
        if type(inner).__name__ in UNSUPPORTED:
            raise TypeError(f"{type(inner).__name__} cannot be scored by claa: {UNSUPPORTED[type(inner).__name__]}")
        inner = getattr(inner, "press", None)
    return press


def rotary(inv_freq, attention_factor):
    """The model's rotary embedding as kvpress expects it on module.rotary_emb (kvpress sets
    layer.self_attn.rotary_emb = model.rotary_emb, base_press.py __call__): (x, position_ids) -> (cos, sin)
    as transformers' LlamaRotaryEmbedding.forward computes them, from claa's inverse frequencies."""
    import torch

    class Rotary(torch.nn.Module):
        def forward(self, x, position_ids):
            freqs = position_ids[..., None].float() * inv_freq
            emb = torch.cat((freqs, freqs), dim=-1)
            return (emb.cos() * attention_factor).to(x.dtype), (emb.sin() * attention_factor).to(x.dtype)

    return Rotary()


class LayerModules:
    """The HF attention module of each layer, rebuilt once from claa's weights (a Llama-like layer:
    Llama, Mistral, SmolLM2; q/k/v biases as Qwen2; q/k norms as Qwen3)."""

    def __init__(self):
        self.modules = {}

    def get(self, layer):
        import numpy as np
        import torch

        freqs = np.array(layer.rope_inv_freq, dtype=np.float32)  # a copy: the request's arrays are transient
        if layer.layer in self.modules:
            module, norm, seen = self.modules[layer.layer]
            if not np.array_equal(seen, freqs):  # LongRoPE: another prompt length, other factors
                module.rotary_emb = rotary(torch.from_numpy(freqs), layer.config["rope_attention_factor"])
                self.modules[layer.layer] = (module, norm, freqs)
            return module, norm
        c, w = layer.config, layer.weights
        if "q_norm" in w:
            from transformers import Qwen3Config as Config
            from transformers.models.qwen3.modeling_qwen3 import Qwen3Attention as Attention
        else:
            from transformers import LlamaConfig as Config
            from transformers.models.llama.modeling_llama import LlamaAttention as Attention
        config = Config(hidden_size=c["hidden"], num_attention_heads=c["n_heads"], num_key_value_heads=c["n_kv_heads"],
                        head_dim=c["head_dim"], num_hidden_layers=c["n_layers"], rms_norm_eps=c["rms_eps"],
                        attention_bias="bq" in w, intermediate_size=4 * c["hidden"])
        module = Attention(config, layer.layer).eval()
        t = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))
        with torch.no_grad():
            module.q_proj.weight.copy_(t(w["wq"]))
            module.k_proj.weight.copy_(t(w["wk"]))
            module.v_proj.weight.copy_(t(w["wv"]))
            module.o_proj.weight.copy_(t(w["wo"]))
            for name, proj in (("bq", module.q_proj), ("bk", module.k_proj), ("bv", module.v_proj)):
                if name in w:
                    proj.bias.copy_(t(w[name]))
            if getattr(module.o_proj, "bias", None) is not None:
                module.o_proj.bias.zero_()
            if "q_norm" in w:
                module.q_norm.weight.copy_(t(w["q_norm"]))
                module.k_norm.weight.copy_(t(w["k_norm"]))
        # The prompt's rotation, fixed per request: unlike HF's LongRoPE rotary embedding it does not switch
        # to the long factors for positions past the original context (a press turning future positions,
        # Expected Attention, keeps the prompt's factors there; claa's native expected_attention switches).
        module.rotary_emb = rotary(t(freqs), c["rope_attention_factor"])
        self.modules[layer.layer] = (module, t(w["attn_norm"]), freqs)
        return self.modules[layer.layer][:2]


def score_fn(press, modules):
    import torch

    def score(layer):
        module, norm_weight = modules.get(layer)
        c = layer.config
        with torch.no_grad():
            x = torch.from_numpy(layer.hidden_in)[None]  # [1, N, hidden], a view of the mapped file
            # LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · weight, in fp32
            hidden = norm_weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["rms_eps"]))
            keys = torch.from_numpy(layer.keys)[None]
            values = torch.from_numpy(layer.values)[None]
            positions = torch.from_numpy(layer.positions)[None]
            kwargs = {"hidden_states": hidden, "position_embeddings": module.rotary_emb(hidden, positions),
                      "position_ids": positions, "cache_position": positions[0], "attention_mask": None}
            scores = press.score(module, hidden, keys, values, None, kwargs)
        return scores[0].float().numpy()

    return score


def main():
    channel = protocol_channel()
    try:
        if len(sys.argv) != 2:
            raise ValueError("usage: python -m claa_worker.kvpress_worker 'PRESS(key=value,...)'")
        import torch

        torch.set_num_threads(int(os.environ.get("CLAA_WORKER_THREADS", "0")) or torch.get_num_threads())
        press = make_press(sys.argv[1])
    except Exception as e:
        channel.write(json.dumps({"error": " ".join(f"{type(e).__name__}: {e}".split())}) + "\n")
        channel.flush()
        sys.exit(1)
    from claa_worker.protocol import heuristic, serve

    # Presses pad what they always keep with max + 1 (SnapKV its 64-query window, TOVA the last token):
    # claa ranks the N - W positions before the window every pipeline forces, as for its own window
    # scores, so such padding never enters a comparison.
    columns = "drop_window"
    fn = heuristic(needs=("hidden_in", "keys", "values", "positions", "weights"), columns=columns,
                   note=f"kvpress {type(press).__name__}.score")(score_fn(press, LayerModules()))
    serve(fn, channel=channel)


if __name__ == "__main__":
    main()
