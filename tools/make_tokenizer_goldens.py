#!/usr/bin/env python3
"""Generate the tokenizer golden fixtures in tests/fixtures/tokenizer/.

Two independent references must agree on every string before it becomes a golden:
  (a) HF `tokenizers`, built by hand from the GGUF's vocab and merges with SmolLM2's real
      pre-tokenizer (Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)]),
      the ByteLevel decoder and the control tokens as special added tokens;
  (b) llama.cpp (llama-cpp-python, vocab_only) on the same GGUF.

Outputs (all small, committed):
  smollm2.jsonl          {"text", "ids"} per line, >= 200 strings
  smollm2_chat.json      3 conversations rendered by transformers' apply_chat_template with the
                         GGUF's own chat_template, plus their ids
  synth_bpe.json         a tiny BPE tokenizer.json trained here by HF tokenizers
                         (Digits + ByteLevel, as SmolLM2), with synth_bpe_goldens.jsonl
  synth_llama3.json      the same with Split(Llama-3 regex) + ByteLevel(use_regex=False) and
                         ignore_merges, with synth_llama3_goldens.jsonl
  pretok_splits.json     Llama-3 / Qwen2 regex pre-token splits from HF Split(Regex, isolated),
                         cross-checked with the `regex` module

Usage (venv with tokenizers, transformers, gguf, jinja2, regex, llama-cpp-python):
  /root/.venvs/ref/bin/python tools/make_tokenizer_goldens.py [--gguf PATH]
"""
import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tokenizer"
DEFAULT_GGUF = os.path.expanduser("~/.cache/claa/models/SmolLM2-135M-Instruct.Q4_1.gguf")

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                  r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                 r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")


# ------------------------------------------------------------------------------------------------
# Test strings (deterministic)

HAND_WRITTEN = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "Hello world",
    "Hello, world!",
    " Hello world",
    "hello  world",
    "hello   world   ",
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX",
    "I'm sure you're right, they'll see it's what we've done, he'd say.",
    "I'M SURE YOU'RE RIGHT, THEY'LL",
    "don't can't won't shouldn't y'all o'clock",
    "rock 'n' roll 'quoted' ''double''",
    "It’s a curly apostrophe — and an em dash – en dash…",
    "1",
    "12",
    "123",
    "1234567890",
    "3.14159265358979",
    "1,000,000 and 2.5e-10",
    "Phone: +1 (555) 123-4567",
    "Year 2024, day 365, 0.001%",
    "v1.2.3-rc4",
    "0x7fffffff 0b1011 0o777",
    "²³ ½ ¾ Ⅻ ⅷ",
    "١٢٣٤ ०१२३ １２３",
    "a1b2c3",
    "abc123def",
    " 42",
    "   42   ",
    "\n\n",
    "\n\n\n",
    "line one\nline two\n",
    "line one\r\nline two\r\n",
    "para one.\n\npara two.\n\n\n",
    "\t\tindented\n\t\t\tmore",
    "trailing spaces   \n   leading spaces",
    "a \n b",
    "a\u00a0b",
    "nbsp\u00a0\u00a0runs\u00a0",
    "wide\u3000space",
    "zero\u200bwidth",
    "em\u2003space and thin\u2009space",
    "    def foo(x):\n        return x * 2\n",
    "int main() { return 0; }",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "#include <stdio.h>\n",
    "x = {'a': 1, \"b\": [2, 3]}",
    "if x != y && z >= 10 || !w:",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?q=1&r=two#frag",
    "user@example.com",
    "$ ls -la /usr/local/bin | grep -v '^d'",
    "// comment\n/* block */",
    "-----",
    "=====================",
    "!!!???...",
    "@#$%^&*()_+-=[]{}|;:,./<>?`~",
    "café résumé naïve façade",
    "Ünïcödé ÄÖÜ äöü ß",
    "Señor año niño",
    "Ça va? Où est la bibliothèque?",
    "Zürich, Kraków, Århus, Ærøskøbing",
    "ěščřžýáíé",
    "Привет, мир!",
    "Γειά σου Κόσμε",
    "שלום עולם",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "你好，世界！",
    "我爱自然语言处理。",
    "こんにちは世界",
    "カタカナとひらがな",
    "안녕하세요 세계",
    "漢字かな交じり文123",
    "😀",
    "😀😃😄",
    "Hello 👋 world 🌍!",
    "👨‍👩‍👧‍👦 family",
    "🇺🇸🇫🇷 flags",
    "❤️ heart with variation selector",
    "e\u0301 combining acute",
    "a\u0308\u0323 stacked marks",
    "\U0001F600\U0001F64F",
    "∑∫∂√∞ ≤ ≥ ≠ ±",
    "→ ← ↑ ↓ ⇒",
    "©®™ §¶ °",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "text<|endoftext|>more text",
    "<|im_start|><|im_end|>",
    "  <|im_start|>  spaced  <|im_end|>  ",
    "<|im_start",
    "<|im_start|",
    "im_start|>",
    "<|notatoken|>",
    "<file_sep>main.py\nprint(1)<file_sep>",
    "<repo_name>claa<filename>tok.cpp",
    "<jupyter_code>x=1<jupyter_output>1",
    "<<|im_end|>>",
    "<|im_end|><|im_end|><|im_end|>",
    "a<|endoftext|>",
    "\n<|im_start|>\n",
    "123<|im_end|>456",
    # bytes the SmolLM2 vocab has no token for (0x04, 0x13, 0x14, 0x16, 0xF1, ...): both references
    # drop them silently, so these strings do not round-trip ("roundtrip": false in the golden)
    "ctrl\x04char",
    "bell\x07 and \x1b[0m escape",
    "\x13\x14\x16",
    "plane four \U00040000 char",
]


def generated_strings(n):
    """Deterministic mixtures of fragments, to cover combinations the list above misses."""
    rng = random.Random(20240601)
    words = ["the", "The", " of", "and", "tokenizer", "BPE", "naïve", "Ελλάδα", "東京", "🚀", "'s", "'LL",
             "12", "3.5", "2024", "x", "y_1", "foo()", "-->", "\t", "\n", " ", "  ", "\n\n", "<|im_end|>",
             "<|im_start|>", "???", "é", "ß", "—", "$", "%", "100%", "a.b", "C++", "→", "ñ", "Ω", "(", ")",
             "\u00a0", "日本語", "한국어", "😀", "#", "@user", "http://x.y", "...", "0", "007", "9999999"]
    seps = ["", " ", "  ", "\n", ", ", ". ", "\t"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 12)
        out.append("".join(rng.choice(words) + rng.choice(seps) for _ in range(k)))
    return out


def long_strings():
    prose = ("In the beginning the Universe was created. This has made a lot of people very angry and "
             "been widely regarded as a bad move. ")
    return [
        prose * 8,
        "word " * 200,
        " " * 100,
        "\n" * 50,
        "x" * 300,
        "9" * 120,
        "ab" * 150,
        "😀" * 40,
        "中文" * 60,
        "a " * 50 + "\n" * 5 + "b " * 50,
    ]


def all_strings():
    seen, out = set(), []
    for s in HAND_WRITTEN + long_strings() + generated_strings(110):
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# ------------------------------------------------------------------------------------------------
# References

def read_gguf_vocab(path):
    from gguf import GGUFReader
    r = GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def ints(key):
        f = r.fields[key]
        return [int(f.parts[i][0]) for i in f.data]

    def scalar_str(key):
        f = r.fields[key]
        return bytes(f.parts[f.data[0]]).decode("utf-8")

    return {
        "tokens": strings("tokenizer.ggml.tokens"),
        "merges": strings("tokenizer.ggml.merges"),
        "types": ints("tokenizer.ggml.token_type"),
        "pre": scalar_str("tokenizer.ggml.pre"),
        "chat_template": scalar_str("tokenizer.chat_template"),
    }


def build_hf_from_gguf(v):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    assert v["pre"] == "smollm", f"this script knows SmolLM2's pre-tokenizer only, got {v['pre']}"
    vocab = {t: i for i, t in enumerate(v["tokens"])}
    merges = [tuple(m.split(" ", 1)) for m in v["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    # SmolLM2's tokenizer.json: digits isolated one by one, then the GPT-2 byte-level regex.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    control = [t for t, ty in zip(v["tokens"], v["types"]) if ty == 3]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    for t in control:
        assert tok.token_to_id(t) == vocab[t]
    return tok


def build_llama_cpp(path):
    from llama_cpp import Llama
    return Llama(model_path=path, vocab_only=True, verbose=False)


# ------------------------------------------------------------------------------------------------
# Fixtures

def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def make_smollm2_goldens(hf, llm):
    rows, disagreements = [], []
    for s in all_strings():
        a = hf.encode(s, add_special_tokens=False).ids
        b = llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
        if a != b:
            disagreements.append((s, a, b))
            continue
        roundtrip = hf.decode(a, skip_special_tokens=False) == s
        if not roundtrip:
            print(f"note: {s!r} does not round-trip (bytes missing from the vocab)", file=sys.stderr)
        rows.append({"text": s, "ids": a, "roundtrip": roundtrip})
    for s, a, b in disagreements:
        print(f"DISAGREE (excluded): {s!r}\n  hf:       {a}\n  llama.cpp: {b}", file=sys.stderr)
    write_jsonl(OUT / "smollm2.jsonl", rows)
    print(f"smollm2.jsonl: {len(rows)} strings, {len(disagreements)} excluded")
    assert len(rows) >= 200, "need at least 200 agreeing strings"


CONVERSATIONS = [
    # no system message -> the template inserts SmolLM's default one
    {"messages": [{"role": "user", "content": "What is the capital of France?"}], "add_generation_prompt": True},
    # explicit system message
    {"messages": [{"role": "system", "content": "You are a terse assistant. Answer in one word."},
                  {"role": "user", "content": "Name a primary colour."}], "add_generation_prompt": True},
    # multi-turn, no generation prompt, with digits / unicode / newlines in content
    {"messages": [{"role": "user", "content": "Hi! Can you add 12345 and 678?"},
                  {"role": "assistant", "content": "Sure: 12345 + 678 = 13023."},
                  {"role": "user", "content": "Thanks 🙏\nNow say 'café' twice."},
                  {"role": "assistant", "content": "café café"}], "add_generation_prompt": False},
]


def make_chat_goldens(hf, llm, chat_template):
    from transformers import PreTrainedTokenizerFast
    fast = PreTrainedTokenizerFast(tokenizer_object=hf, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<|im_end|>")
    fast.chat_template = chat_template
    out = []
    for conv in CONVERSATIONS:
        text = fast.apply_chat_template(conv["messages"], tokenize=False,
                                        add_generation_prompt=conv["add_generation_prompt"])
        ids = hf.encode(text, add_special_tokens=False).ids
        ids_llama = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        assert ids == ids_llama, f"chat ids disagree for {text!r}"
        out.append(dict(conv, text=text, ids=ids))
    (OUT / "smollm2_chat.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"smollm2_chat.json: {len(out)} conversations")


def make_synthetic_tokenizer_json(name, pre_tokenizer, ignore_merges, n_golden):
    """A small byte-level BPE trained here, saved as tokenizer.json, plus its goldens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    corpus = HAND_WRITTEN + generated_strings(300)
    trainer = trainers.BpeTrainer(vocab_size=256 + 3 + 400, min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_tokens([AddedToken("<tool>", special=False, normalized=False)])  # a user-defined added token
    tok.save(str(OUT / f"{name}.json"))
    rows = []
    for s in all_strings()[:n_golden] + ["see <tool> here", "<tool><|im_end|>"]:
        ids = tok.encode(s, add_special_tokens=False).ids
        rows.append({"text": s, "ids": ids, "roundtrip": tok.decode(ids, skip_special_tokens=False) == s})
    write_jsonl(OUT / f"{name}_goldens.jsonl", rows)
    print(f"{name}.json: vocab {tok.get_vocab_size()}, {len(rows)} golden strings")


def make_synthetic_tokenizers():
    from tokenizers import Regex, pre_tokenizers
    # SmolLM2-style: Sequence[Digits, ByteLevel(use_regex)]
    make_synthetic_tokenizer_json("synth_bpe", pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ]), ignore_merges=False, n_golden=120)
    # Llama-3-style: Split(Regex, isolated) then ByteLevel without its own regex, ignore_merges
    make_synthetic_tokenizer_json("synth_llama3", pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ]), ignore_merges=True, n_golden=60)


PRETOK_STRINGS = [
    "Hello world", "I'm here, you're there", "I'M HERE, YOU'RE THERE", "They'LL say it's 'fine'",
    "12345678", "1 22 333 4444 55555", "3.14159", "abc123def456", "   leading", "trailing   ",
    "a  b   c", "line\nbreak", "crlf\r\nline", "\n\n\nnewlines", "mixed \t\n  whitespace\n\n  end",
    "    def f(x):\n        return x\n", "foo.bar(baz)", "!!!hello???", " ?!;", "$100.00 & 50%",
    "café naïve", "Привет мир", "你好世界123", "こんにちは、世界", "😀 emoji 🚀 rocket", "#include <vector>",
    "x=1;y=2", "— dash", "__init__", "\u00a0nbsp\u00a0", "tab\there", "",
]


def make_pretok_splits():
    import regex
    from tokenizers import Regex, pre_tokenizers
    out = {"llama3": {"pattern": LLAMA3_PATTERN, "cases": []}, "qwen2": {"pattern": QWEN2_PATTERN, "cases": []}}
    for name, pat in (("llama3", LLAMA3_PATTERN), ("qwen2", QWEN2_PATTERN)):
        split = pre_tokenizers.Split(Regex(pat), behavior="isolated", invert=False)
        for s in PRETOK_STRINGS:
            pieces = [p for p, _ in split.pre_tokenize_str(s)]
            assert pieces == regex.findall(pat, s), f"HF and regex disagree on {s!r} ({name})"
            out[name]["cases"].append({"text": s, "pieces": pieces})
    (OUT / "pretok_splits.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"pretok_splits.json: {len(PRETOK_STRINGS)} strings x 2 patterns")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=os.environ.get("CLAA_GGUF", DEFAULT_GGUF))
    args = ap.parse_args()
    if not os.path.exists(args.gguf):
        sys.exit(f"GGUF not found: {args.gguf} (run the model setup script or pass --gguf)")
    OUT.mkdir(parents=True, exist_ok=True)
    v = read_gguf_vocab(args.gguf)
    hf = build_hf_from_gguf(v)
    llm = build_llama_cpp(args.gguf)
    make_smollm2_goldens(hf, llm)
    make_chat_goldens(hf, llm, v["chat_template"])
    make_synthetic_tokenizers()
    make_pretok_splits()


if __name__ == "__main__":
    main()
