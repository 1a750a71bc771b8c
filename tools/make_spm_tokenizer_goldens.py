#!/usr/bin/env python3
"""Generate the goldens of the SentencePiece-style and normalizing tokenizers (issue 29 item 4)
in tests/fixtures/tokenizer/. Nothing here uses claa's code: every id, offset and decoded text
comes from a reference implementation.

tokenizer.json fixtures, trained here by HF `tokenizers` and encoded by HF `tokenizers` itself
(ids, byte offsets converted from HF's character offsets, and HF's decode):
  spm_llama2.json      Llama 2 / Phi-3 layout: BPE(byte_fallback, fuse_unk, unk "<unk>"),
                       normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], no pre-tokenizer,
                       decoder Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)]
  spm_gemma.json       Gemma layout as transformers 5.2 writes it: normalizer Replace(" ", "▁"),
                       no pre-tokenizer, decoder Replace+ByteFallback+Fuse
  spm_gemma_hub.json   the same with the pre_tokenizer Split(" ", MergedWithPrevious) of the Gemma
                       files on the Hub (a no-op after the Replace, but it must load)
  spm_phi3.json        spm_llama2.json plus Phi-3-style added tokens with rstrip (and one with
                       lstrip): they swallow the whitespace beside them
  spm_metaspace.json   newer Llama/Mistral layout: no normalizer, pre_tokenizer
                       Metaspace(prepend_scheme "first", split false), no byte fallback (so <unk>
                       fires, fused), decoder Replace+ByteFallback+Fuse+Strip
  spm_metaspace_split.json  Metaspace(prepend_scheme "always", split true), decoder Metaspace
  nfc_qwen.json        byte-level BPE with Qwen2/Qwen3's NFC normalizer and Split(Qwen2 regex)
  nfkc_bpe.json        byte-level BPE with Sequence[NFKC, Strip(right)] (ligatures, full-width)
  synth_bpe_t5.json    synth_bpe.json with the empty normalizer Sequence that transformers 5
                       writes when it saves SmolLM2's tokenizer (ids must not change)
  each with <name>_goldens.jsonl: {"text", "ids", "offsets" (byte ranges), "decoded"}
  split_behaviors.json HF Split(pattern, behavior).pre_tokenize_str for every behavior (Isolated,
                       Removed, MergedWithPrevious, MergedWithNext, Contiguous) on a few patterns

GGUF fixture (tokenizer.ggml.model "llama"):
  spm_llama.gguf       a SentencePiece BPE model trained here by the `sentencepiece` package
                       (byte_fallback, identity normalisation, add_dummy_prefix), written with the
                       `gguf` package (tokens, scores, token types; no tensors)
  spm_llama_goldens.jsonl  ids from two references, kept only where they agree:
                       (a) sentencepiece's own encode, (b) transformers' GGUF -> tokenizer
                       conversion (AutoTokenizer with gguf_file); "decoded" from sentencepiece.

Usage (venv with tokenizers, transformers, gguf, sentencepiece, protobuf):
  ~/.venvs/ref/bin/python tools/make_spm_tokenizer_goldens.py
  # goldens of any tokenizer.json (e.g. a real model's), for the hidden test "[.tokenizer_file]":
  ~/.venvs/ref/bin/python tools/make_spm_tokenizer_goldens.py --file DIR/tokenizer.json --out g.jsonl
  CLAA_TOKENIZER_JSON=DIR/tokenizer.json CLAA_TOKENIZER_GOLDENS=g.jsonl build/claa_tests "[.tokenizer_file]"

Deterministic: a rerun writes the same files.
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tokenizer_goldens import HAND_WRITTEN, QWEN2_PATTERN, generated_strings, long_strings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tokenizer"
SPACE = "\u2581"

# Strings that exercise normalisation, byte fallback and the space handling.
HARD = [
    "e\u0301", "cafe\u0301 re\u0301sume\u0301", "A\u030a ring", "\u212b angstrom sign", "\u1e9b\u0323",
    "o\u0308\u0301", "a\u0315\u0301b", "\ufb01 ligature \ufb02ow", "\uff21\uff22\uff23 full-width \uff11\uff12",
    "\u2460 circled \u00bd half \u2075", "\u1100\u1161\u11a8 jamo", "\u1100\u1161 \u1112\u1161\u11ab",
    "\ud55c\uad6d\uc5b4 Hangul", "\u3131\u314f compat jamo", "Ω ohm \u2126 sign", "x\u00b2 \u33a1",
    " leading", "  two leading", "trailing ", "trailing two  ", "   ", "a  b   c    d",
    "\u2581already\u2581escaped", " \u2581 mixed", "tab\tand\nnewline\r\n", "\n\nnl first", "only\n",
    "\u4e2d\u6587\u5b57\u7b26\u4e32\u6d4b\u8bd5", "\u0928\u092e\u0938\u094d\u0924\u0947", "\U0001F600 \U0001F680\U0001F30D",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467", "rare \u16a0\u16a2\u16a6 runes", "\u0f00\u0f01 tibetan",
    "\u00e9t\u00e9 \u00c9T\u00c9", "\u0130stanbul \u0131", "ZWJ\u200dhere", "soft\u00adhyphen", "nbsp\u00a0x",
    "<s>after bos", "text</s>", "a <unk> b", "<s> <s>", "hi<start_of_turn>user\nyo<end_of_turn>",
]


def all_strings(n_generated=60):
    seen, out = set(), []
    for s in HAND_WRITTEN + HARD + long_strings()[:4] + generated_strings(n_generated):
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def byte_offsets(text, char_offsets):
    """HF reports offsets in characters of the Python string; claa in bytes of the UTF-8 text."""
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [[pos[b], pos[e]] for b, e in char_offsets]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def hf_goldens(tok, name, strings):
    rows = []
    for s in strings:
        enc = tok.encode(s, add_special_tokens=False)
        rows.append({"text": s, "ids": enc.ids, "offsets": byte_offsets(s, enc.offsets),
                     "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
    write_jsonl(OUT / f"{name}_goldens.jsonl", rows)
    print(f"{name}: vocab {tok.get_vocab_size()}, {len(rows)} golden strings")


# ------------------------------------------------------------------------------------------------
# SentencePiece-style BPE in tokenizer.json, trained by HF tokenizers

TRAIN_TEXT = HAND_WRITTEN + generated_strings(300) + [
    "The tokenizer splits words into pieces. Pieces are merged by rank.",
    "Les mots français ont des accents: été, déjà, où, naïve.",
    "Die Größe der Straße ist schön.", "Москва столица России.", "東京は日本の首都です。",
]
SPECIALS = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>"]


def common_chars_only(texts, min_count=4):
    """The training texts without their rare characters, so that those are absent from the vocab
    and byte fallback / <unk> fire on them. (The trainer's own limit_alphabet breaks ties between
    equally frequent characters differently from run to run; this keeps the fixtures reproducible.)"""
    from collections import Counter
    counts = Counter(ch for t in texts for ch in t)
    return ["".join(ch for ch in t if counts[ch] >= min_count) for t in texts]


def train_spm_bpe(byte_fallback, vocab_size=700):
    """Train pieces with ▁ for spaces; rebuild the vocab SentencePiece-style (specials, then the
    256 byte tokens <0x00>..<0xFF>, then the trained pieces) and return (vocab, merges)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False)
    t.train_from_iterator(common_chars_only(TRAIN_TEXT), trainer=trainer)
    trained = json.loads(t.to_str())["model"]
    vocab = {}
    for s in SPECIALS:
        vocab[s] = len(vocab)
    if byte_fallback:
        for b in range(256):
            vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in trained["merges"]]
    return vocab, merges


def spm_tokenizer(vocab, merges, byte_fallback, normalizer, pre_tokenizer, decoder):
    from tokenizers import AddedToken, Tokenizer, models
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                               byte_fallback=byte_fallback))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    return tok


def make_spm_json():
    from tokenizers import decoders, normalizers, pre_tokenizers
    strings = all_strings()
    vocab, merges = train_spm_bpe(byte_fallback=True)
    sp_decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(" ", 1, 0)])
    llama2 = spm_tokenizer(vocab, merges, True,
                           normalizers.Sequence([normalizers.Prepend(SPACE), normalizers.Replace(" ", SPACE)]),
                           None, sp_decoder)
    gemma = spm_tokenizer(vocab, merges, True, normalizers.Replace(" ", SPACE), None,
                          decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]))
    vocab_nb, merges_nb = train_spm_bpe(byte_fallback=False)
    meta = spm_tokenizer(vocab_nb, merges_nb, False, None,
                         pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="first", split=False), sp_decoder)
    meta_split = spm_tokenizer(vocab, merges, True, None,
                               pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always", split=True),
                               decoders.Metaspace(replacement=SPACE, prepend_scheme="always", split=True))
    for name, tok in (("spm_llama2", llama2), ("spm_gemma", gemma), ("spm_metaspace", meta),
                      ("spm_metaspace_split", meta_split)):
        tok.save(str(OUT / f"{name}.json"))
        hf_goldens(tok, name, strings)
    from tokenizers import AddedToken
    llama2.add_special_tokens([AddedToken(t, special=True, rstrip=True, normalized=False)
                               for t in ("<|user|>", "<|assistant|>", "<|end|>")])
    llama2.add_special_tokens([AddedToken("<|system|>", special=True, lstrip=True, rstrip=True, normalized=False)])
    llama2.save(str(OUT / "spm_phi3.json"))
    chat = ["<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n", "a <|end|>\n b", "x  <|system|>  \n\ty",
            "<|end|>   ", "a\u3000<|system|>\u00a0b", " <|user|> <|user|>", "<|assistant|>", "\n\n<|end|>\n\n"]
    hf_goldens(llama2, "spm_phi3", chat + strings[:60])
    gemma.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    gemma.save(str(OUT / "spm_gemma_hub.json"))
    hf_goldens(gemma, "spm_gemma_hub", strings[:80])


def make_split_behaviors():
    from tokenizers import Regex, pre_tokenizers
    patterns = [("String", " "), ("Regex", r"\s+"), ("Regex", r"\p{N}+"), ("Regex", "x*"), ("String", "ab")]
    texts = ["  a  b c ", "axxb", "1 22 333x", "abab ab", "", "no match here", "\u00e9t\u00e9  12\u00a0x",
             "\n\n two\tlines \n"]
    behaviors = ["isolated", "removed", "merged_with_previous", "merged_with_next", "contiguous"]
    names = {"isolated": "Isolated", "removed": "Removed", "merged_with_previous": "MergedWithPrevious",
             "merged_with_next": "MergedWithNext", "contiguous": "Contiguous"}
    cases = []
    for kind, pat in patterns:
        for b in behaviors:
            split = pre_tokenizers.Split(Regex(pat) if kind == "Regex" else pat, behavior=b)
            for t in texts:
                cases.append({"pattern": {kind: pat}, "behavior": names[b], "text": t,
                              "pieces": [p for p, _ in split.pre_tokenize_str(t)]})
    (OUT / "split_behaviors.json").write_text(json.dumps(cases, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"split_behaviors.json: {len(cases)} cases")


# ------------------------------------------------------------------------------------------------
# Byte-level BPE with Unicode normalizers, and the empty Sequence of transformers 5

def make_normalizing_byte_level():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    strings = all_strings()
    layouts = {
        "nfc_qwen": (normalizers.NFC(), pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])),
        "nfkc_bpe": (normalizers.Sequence([normalizers.NFKC(), normalizers.Strip(left=False, right=True)]),
                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)),
    }
    for name, (norm, pre) in layouts.items():
        tok = Tokenizer(models.BPE())
        tok.normalizer = norm
        tok.pre_tokenizer = pre
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=256 + 2 + 400, min_frequency=2,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      special_tokens=["<|endoftext|>", "<|im_start|>"], show_progress=False)
        tok.train_from_iterator(TRAIN_TEXT, trainer=trainer)
        tok.add_special_tokens([AddedToken("<|im_end|>", special=True, normalized=False)])
        tok.save(str(OUT / f"{name}.json"))
        hf_goldens(tok, name, strings)

    # transformers 5 saves SmolLM2's tokenizer with {"type": "Sequence", "normalizers": []}.
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(OUT / "synth_bpe.json"))
    tok.normalizer = normalizers.Sequence([])
    tok.save(str(OUT / "synth_bpe_t5.json"))
    assert json.loads((OUT / "synth_bpe_t5.json").read_text())["normalizer"] == {"type": "Sequence", "normalizers": []}
    hf_goldens(tok, "synth_bpe_t5", strings[:80])


# ------------------------------------------------------------------------------------------------
# GGUF "llama": sentencepiece model -> GGUF, references sentencepiece and transformers

def make_spm_gguf():
    import sentencepiece as spm
    import gguf
    from transformers import AutoTokenizer
    work = Path(tempfile.mkdtemp(prefix="claa_spm_"))
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(s.replace("\n", " ") for s in TRAIN_TEXT if s.strip()) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(work / "m"), model_type="bpe", vocab_size=1000, byte_fallback=True,
        character_coverage=0.995, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, split_digits=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        allow_whitespace_only_pieces=True, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(work / "m.model"))
    n = sp.get_piece_size()
    tokens, scores, types = [], [], []
    for i in range(n):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        # llama.cpp token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i)
                     else 5 if sp.is_unused(i) else 1)
    path = OUT / "spm_llama.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    hf = AutoTokenizer.from_pretrained(str(OUT), gguf_file="spm_llama.gguf")
    rows, disagree = [], []
    for s in all_strings():
        a = sp.encode(s)
        b = hf.encode(s, add_special_tokens=False)
        if a != b:
            disagree.append((s, a, b))
            continue
        rows.append({"text": s, "ids": a, "decoded": sp.decode(a)})
    for s, a, b in disagree:
        print(f"DISAGREE (excluded): {s!r}\n  sentencepiece: {a}\n  transformers:  {b}", file=sys.stderr)
    write_jsonl(OUT / "spm_llama_goldens.jsonl", rows)
    print(f"spm_llama.gguf: vocab {n}, {len(rows)} golden strings, {len(disagree)} excluded")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", help="write goldens of this tokenizer.json instead of the fixtures")
    ap.add_argument("--out", help="with --file: the goldens file")
    args = ap.parse_args()
    if args.file:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(args.file)
        rows = []
        for s in all_strings():
            enc = tok.encode(s, add_special_tokens=False)
            rows.append({"text": s, "ids": enc.ids, "offsets": byte_offsets(s, enc.offsets),
                         "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
        write_jsonl(args.out, rows)
        print(f"{args.out}: {len(rows)} strings")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    make_spm_json()
    make_split_behaviors()
    make_normalizing_byte_level()
    make_spm_gguf()


if __name__ == "__main__":
    main()
