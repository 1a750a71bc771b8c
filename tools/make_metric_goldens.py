#!/usr/bin/env python3
"""Golden cases for evaluation/metrics and evaluation/scorers, computed with the reference Python code.

Writes
  tests/fixtures/metrics/rank_goldens.json    scipy.stats.spearmanr / kendalltau(variant='b') on random
                                              vectors with ties, plus top-k metrics from the plain Python
                                              definitions below (method.md §3).
  tests/fixtures/metrics/scorer_goldens.json  RULER and LongBench scorers on prediction/answer pairs.

Needs scipy, numpy, rouge==1.0.1, fuzzywuzzy==0.18.0 and python-Levenshtein (the LongBench stack):
  /root/.venvs/ref/bin/pip install scipy rouge fuzzywuzzy python-Levenshtein
  /root/.venvs/ref/bin/python tools/make_metric_goldens.py

The LongBench metric functions are copied verbatim from THUDM/LongBench, LongBench/metrics.py (the
Chinese variants left out) and LongBench/eval.py (dataset2metric, the per-sample part of scorer());
RULER's from NVIDIA/RULER scripts/eval/evaluate.py (postprocess_pred) and
scripts/eval/synthetic/constants.py (string_match_all / string_match_part), applied per sample.

Note: rouge's _recon recurses once per LCS-path step, so the result of rouge_score depends on the Python
call depth. long_rouge cases below are scored at the depth of LongBench's eval.py
(<module> → scorer → rouge_score), see score_like_eval_py().
"""
import inspect
import json
import math
import os
import re
import sys
from collections import Counter

import numpy as np
import scipy
import scipy.stats
from fuzzywuzzy import fuzz
from rouge import Rouge

from squad_normalize import normalize_answer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "metrics")


# ----------------------------------------------------------------------------------------------
# THUDM/LongBench LongBench/metrics.py (verbatim except where marked)
# ----------------------------------------------------------------------------------------------

# normalize_answer: the SQuAD copy both benchmarks share (tools/squad_normalize.py).


def count_score(prediction, ground_truth, **kwargs):
    numbers = re.findall(r"\d+", prediction)
    right_num = 0
    for number in numbers:
        if str(number) == str(ground_truth):
            right_num += 1
    final_score = 0.0 if len(numbers) == 0 else right_num / len(numbers)
    return float(final_score)


def retrieval_score(prediction, ground_truth, **kwargs):
    # Not verbatim: upstream repeats count_score's body with the paragraph id as the truth; same result.
    ground_truth_id = re.findall(r'Paragraph (\d+)', ground_truth)[0]
    return count_score(prediction, ground_truth_id)


def code_sim_score(prediction, ground_truth, **kwargs):
    all_lines = prediction.lstrip('\n').split('\n')
    prediction = ""
    for line in all_lines:
        if ('`' not in line) and ('#' not in line) and ('//' not in line):
            prediction = line
            break
    return (fuzz.ratio(prediction, ground_truth) / 100)


def classification_score(prediction, ground_truth, **kwargs):
    em_match_list = []
    all_classes = kwargs["all_classes"]
    for class_name in all_classes:
        if class_name in prediction:
            em_match_list.append(class_name)
    for match_term in em_match_list:
        if match_term in ground_truth and match_term != ground_truth:
            em_match_list.remove(match_term)
    if ground_truth in em_match_list:
        score = (1.0 / len(em_match_list))
    else:
        score = 0.0
    return score


def rouge_score(prediction, ground_truth, **kwargs):
    rouge = Rouge()
    try:
        scores = rouge.get_scores([prediction], [ground_truth], avg=True)
    except:
        return 0.0
    return scores["rouge-l"]["f"]


def f1_score(prediction, ground_truth, **kwargs):
    common = Counter(prediction) & Counter(ground_truth)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction)
    recall = 1.0 * num_same / len(ground_truth)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def qa_f1_score(prediction, ground_truth, **kwargs):
    normalized_prediction = normalize_answer(prediction)
    normalized_ground_truth = normalize_answer(ground_truth)

    prediction_tokens = normalized_prediction.split()
    ground_truth_tokens = normalized_ground_truth.split()
    return f1_score(prediction_tokens, ground_truth_tokens)


# THUDM/LongBench LongBench/eval.py (English datasets only)
dataset2metric = {
    "narrativeqa": qa_f1_score,
    "qasper": qa_f1_score,
    "multifieldqa_en": qa_f1_score,
    "hotpotqa": qa_f1_score,
    "2wikimqa": qa_f1_score,
    "musique": qa_f1_score,
    "gov_report": rouge_score,
    "qmsum": rouge_score,
    "multi_news": rouge_score,
    "trec": classification_score,
    "triviaqa": qa_f1_score,
    "samsum": rouge_score,
    "passage_retrieval_en": retrieval_score,
    "passage_count": count_score,
    "lcc": code_sim_score,
    "repobench-p": code_sim_score,
}


def longbench_sample_score(dataset, prediction, ground_truths, all_classes):
    """eval.py scorer(), the body of its loop for one sample."""
    score = 0.
    if dataset in ["trec", "triviaqa", "samsum", "lsht"]:
        prediction = prediction.lstrip('\n').split('\n')[0]
    for ground_truth in ground_truths:
        score = max(score, dataset2metric[dataset](prediction, ground_truth, all_classes=all_classes))
    return score


NAME2METRIC = {"qa_f1": qa_f1_score, "rouge": rouge_score, "classification": classification_score,
               "retrieval": retrieval_score, "count": count_score, "code_sim": code_sim_score}


# ----------------------------------------------------------------------------------------------
# NVIDIA/RULER scripts/eval (per sample)
# ----------------------------------------------------------------------------------------------

def postprocess_pred(predict_str):
    predict_str = predict_str.strip()
    # Remove all non-printable characters
    np_pattern = re.compile(r'[\x00-\x1f]')
    predict_str = np_pattern.sub('\n', predict_str).strip()
    return predict_str


def string_match_all(preds, refs):
    score = sum([sum([1.0 if r.lower() in pred.lower() else 0.0 for r in ref]) / len(ref)
                 for pred, ref in zip(preds, refs)]) / len(preds) * 100
    return score  # RULER rounds the dataset mean to 2 decimals; per sample we keep the exact value


def string_match_part(preds, refs):
    score = sum([max([1.0 if r.lower() in pred.lower() else 0.0 for r in ref])
                 for pred, ref in zip(preds, refs)]) / len(preds) * 100
    return score


RULER = {"string_match_all": string_match_all, "string_match_part": string_match_part}


# ----------------------------------------------------------------------------------------------
# Ranking goldens
# ----------------------------------------------------------------------------------------------

def metric_k(keep, n):
    return min(max(int(math.ceil(keep * n - 1e-9)), 1), n)


def topk(scores, k):
    # ties → lower index; NaN last
    key = lambda j: (1, 0.0, j) if math.isnan(scores[j]) else (0, -scores[j], j)
    return sorted(range(len(scores)), key=key)[:k]


def nan0(x):
    return 0.0 if math.isnan(x) else x


def topk_metrics(h, o, keep_rates, spans):
    n = len(h)
    out = {"k": [], "recall": [], "mass_recall": [], "ndcg": [], "evidence_recall": []}
    evidence = sorted({j for b, e in spans for j in range(b, e)})
    for keep in keep_rates:
        k = metric_k(keep, n)
        th, to = topk(h, k), topk(o, k)
        mass_h = sum(nan0(o[j]) for j in th)
        mass_o = sum(nan0(o[j]) for j in to)
        dcg = sum(nan0(o[j]) / math.log2(i + 2) for i, j in enumerate(th))
        idcg = sum(nan0(o[j]) / math.log2(i + 2) for i, j in enumerate(to))
        out["k"].append(k)
        out["recall"].append(len(set(th) & set(to)) / k)
        out["mass_recall"].append(mass_h / mass_o if mass_o != 0 else 0.0)
        out["ndcg"].append(dcg / idcg if idcg != 0 else 0.0)
        if evidence:
            sel = set(th)
            out["evidence_recall"].append(sum(1 for j in evidence if j in sel) / len(evidence))
    return out


def corr(fn, a, b):
    n = min(len(a), len(b))
    a, b = np.asarray(a[:n], dtype=np.float64), np.asarray(b[:n], dtype=np.float64)
    if n < 2:
        return 0.0, True
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(fn(a, b))
    return (0.0, True) if math.isnan(value) else (value, False)


def spearman_ref(a, b):
    return corr(lambda x, y: scipy.stats.spearmanr(x, y).statistic, a, b)


def kendall_ref(a, b):
    return corr(lambda x, y: scipy.stats.kendalltau(x, y, variant="b").statistic, a, b)


def f32list(x):
    return [float(v) for v in np.asarray(x, dtype=np.float32)]


def rank_cases():
    rng = np.random.default_rng(20240607)
    keep_rates = [0.05, 0.1, 0.25, 0.5, 1.0]
    cases = []
    # (length of a, length of b, how values are drawn)
    specs = [(2, 2, "int3"), (3, 3, "int3"), (5, 5, "int3"), (8, 10, "int5"), (10, 8, "dec1"),
             (20, 20, "int3"), (30, 30, "dec1"), (50, 50, "int10"), (64, 60, "float"), (100, 100, "int5"),
             (100, 100, "mixed"), (128, 128, "dec1"), (200, 190, "int20"), (257, 257, "float"),
             (300, 300, "int3"), (500, 500, "mixed"), (777, 800, "int50"), (1000, 1000, "dec1"),
             (400, 380, "mixed"), (600, 600, "correlated")]

    def draw(kind, n):
        if kind.startswith("int"):
            return rng.integers(0, int(kind[3:]), n).astype(np.float32)
        if kind == "dec1":
            return np.round(rng.random(n), 1).astype(np.float32)
        if kind == "float":
            return rng.random(n).astype(np.float32)
        if kind == "mixed":  # attention-like: mostly tiny, a few large, with exact zeros
            v = rng.exponential(1.0, n) ** 3
            v[rng.random(n) < 0.2] = 0.0
            return (v / v.sum()).astype(np.float32)
        raise ValueError(kind)

    for i, (na, nb, kind) in enumerate(specs):
        if kind == "correlated":
            base = rng.random(max(na, nb))
            a = np.round(base[:na] + 0.3 * rng.random(na), 2).astype(np.float32)
            b = np.round(base[:nb] ** 2, 3).astype(np.float32)
        else:
            a, b = draw(kind, na), draw(kind, nb)
        a, b = f32list(a), f32list(b)
        n = min(na, nb)
        spans = []
        if i % 3 == 0:  # some evidence spans, overlapping and one running past the cut
            s = int(rng.integers(0, n))
            spans = [[s, min(s + 3, n)], [max(s - 1, 0), s + 1], [n - 1, n + 4]]
        cases.append(make_rank_case(f"random_{i}_{kind}", a, b, keep_rates, spans))
    # Degenerate ones: constant vectors, length 1.
    cases.append(make_rank_case("constant_h", [0.5] * 6, [1, 2, 3, 4, 5, 6], keep_rates, []))
    cases.append(make_rank_case("constant_both", [0.0] * 4, [2.0] * 4, keep_rates, []))
    cases.append(make_rank_case("length_one", [1.0], [3.0, 2.0], keep_rates, [[0, 2]]))
    return cases


def make_rank_case(name, h, o, keep_rates, spans):
    n = min(len(h), len(o))
    rho, rho_deg = spearman_ref(h, o)
    tau, tau_deg = kendall_ref(h, o)
    case = {"name": name, "heuristic": h, "oracle": o, "keep_rates": keep_rates, "evidence_spans": spans,
            "spearman": rho, "spearman_degenerate": rho_deg, "kendall": tau, "kendall_degenerate": tau_deg}
    case.update(topk_metrics(h[:n], o[:n], keep_rates, spans))
    return case


# ----------------------------------------------------------------------------------------------
# Scorer goldens
# ----------------------------------------------------------------------------------------------

def score_like_eval_py(dataset, prediction, answers, all_classes):
    # Score as if at the call depth of LongBench's eval.py (<module> → scorer → rouge_score ...): matters
    # only for rouge's recursion limit on very long sentences. Our scorer frame sits deeper than eval.py's
    # (depth 2), so raise the limit by the difference while scoring.
    extra = len(inspect.stack()) + 1 - 2
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + extra)
    try:
        return longbench_sample_score(dataset, prediction, answers, all_classes)
    finally:
        sys.setrecursionlimit(limit)


TREC_CLASSES = ["Abbreviation", "Expression abbreviated", "Animal", "Organ of body", "Color", "Human",
                "Human being", "Individual", "Description", "Definition of something", "Date", "Hum"]


def scorer_cases():
    long_words = lambda n, p="w": " ".join(f"{p}{i}" for i in range(n))
    rng = np.random.default_rng(7)

    def random_text(n_sentences, vocab=6):
        return " . ".join(" ".join(f"t{rng.integers(0, vocab)}" for _ in range(rng.integers(1, 7)))
                          for _ in range(n_sentences))

    ruler = [
        ("string_match_all", "The special magic numbers are 1234567 and 7654321.", ["1234567", "7654321"]),
        ("string_match_all", "The special magic number is 1234567.", ["1234567", "9999999"]),
        ("string_match_all", "  \x00Answer: APPLE-Banana\x1f ", ["apple-banana"]),
        ("string_match_all", "", ["x"]),
        ("string_match_all", "a\tb", ["a\tb"]),  # control characters become "\n" in the prediction only
        ("string_match_all", "ÄPFEL und Birnen", ["äpfel", "birnen", "kirschen"]),
        ("string_match_part", "Paris is the capital", ["London", "paris"]),
        ("string_match_part", "Rome", ["London", "Paris"]),
        ("string_match_part", "\n\n  Answer:\x07 Berlin \u00a0", ["answer:\nberlin"]),
    ]
    longbench = [
        # QA F1
        ("narrativeqa", "The Eiffel Tower", ["Eiffel Tower"], []),
        ("qasper", "an apple a day keeps the doctor away", ["apple day doctor"], []),
        ("multifieldqa_en", "...", ["yes"], []),
        ("hotpotqa", "", ["yes"], []),
        ("2wikimqa", "the the cat cat cat", ["cat", "a cat sat"], []),
        ("musique", "Answer: 1,234 people", ["1234"], []),
        ("hotpotqa", "It's Anne's theater; the A-Team.", ["its anne theater ateam"], []),
        ("hotpotqa", "Émile ZOLA wrote it", ["émile zola"], []),
        ("hotpotqa", "Obama", ["no idea", "Barack Obama"], []),
        ("musique", "the\u2014end a\u2019s café", ["end s café"], []),
        ("2wikimqa", "tabs\tand\nnewlines  everywhere\u00a0here", ["tabs and newlines everywhere here"], []),
        ("triviaqa", "\n\nParis\nLondon is not it", ["Paris"], []),
        ("triviaqa", "London\nParis", ["Paris"], []),
        # ROUGE-L
        ("gov_report", "", ["The report says something."], []),
        ("qmsum", "...", ["Something."], []),
        ("multi_news", "The cat sat on the mat.", ["The cat sat on the mat."], []),
        ("gov_report", "The cat sat on the mat. The dog barked loudly. It rained.",
         ["A dog barked. The cat sat on a mat and it rained."], []),
        ("qmsum", "the the the cat", ["the cat the cat"], []),
        ("multi_news", "Hello World", ["hello world"], []),
        ("gov_report", "Hello . . world", ["Hello world"], []),
        ("qmsum", "x y", ["y x"], []),
        ("multi_news", "a b c d. d c b a. b d", ["a c. b d a. c"], []),
        ("samsum", "Tom will bring the cake.\nJohn agrees.", ["Tom brings cake."], []),
        ("gov_report", long_words(985), [long_words(985)], []),
        ("gov_report", long_words(990), [long_words(990)], []),  # 991 _recon calls: still fine
        ("gov_report", long_words(991), [long_words(991)], []),  # 992 _recon calls: RecursionError → 0
        ("qmsum", long_words(600) + ". short", [long_words(500, "w") + " " + long_words(400, "v")], []),
        # classification (trec)
        ("trec", "Human being", ["Human being"], ["Human", "Human being", "Individual"]),
        ("trec", "Human being", ["Human being"], ["Human", "Hum", "Human being"]),  # skip-after-remove quirk
        ("trec", "Animal or Color", ["Color"], TREC_CLASSES),
        ("trec", "Description", ["Color"], TREC_CLASSES),
        ("trec", "\nColor\nAnimal", ["Color"], TREC_CLASSES),
        ("trec", "Expression abbreviated", ["Abbreviation"], TREC_CLASSES),
        # retrieval / count
        ("passage_retrieval_en", "Paragraph 12", ["Paragraph 12"], []),
        ("passage_retrieval_en", "Paragraphs 3 and 12", ["Paragraph 12"], []),
        ("passage_retrieval_en", "none of them", ["Paragraph 12"], []),
        ("passage_retrieval_en", "12 112 012", ["Paragraph 12"], []),
        ("passage_count", "There are 5 unique paragraphs.", ["5"], []),
        ("passage_count", "5 or 15", ["5"], []),
        ("passage_count", "05", ["5"], []),
        ("passage_count", "", ["5"], []),
        # code similarity
        ("lcc", "    return x + 1\n", ["    return x + 1"], []),
        ("lcc", "```python\n# comment\nreturn a\n```", ["return a;"], []),
        ("repobench-p", "// c comment\nint x = 0;", ["int x = 1;"], []),
        ("repobench-p", "# only\n// comments\n`fence`", ["x = 1"], []),
        ("lcc", "", ["x"], []),
        ("lcc", "", [""], []),  # fuzz.ratio("", "") == 100
        ("lcc", "\n\n  foo(bar)", ["foo(bar)"], []),
        ("repobench-p", "print('héllo wörld')", ["print('hello world')"], []),
        ("lcc", "abcdexyz", ["abcdeuvw"], []),  # 62.5 rounds half to even → 62
        ("lcc", "abcdefgh", ["abcdefgi"], []),  # 87.5 → 88
    ]
    cases = []
    for scorer, pred, refs in ruler:
        expected = RULER[scorer]([postprocess_pred(pred)], [refs])
        cases.append({"kind": "scorer", "scorer": scorer, "prediction": pred, "answers": refs,
                      "all_classes": [], "expected": expected})
    for dataset, pred, answers, classes in longbench:
        expected = score_like_eval_py(dataset, pred, answers, classes)
        cases.append({"kind": "longbench", "dataset": dataset, "prediction": pred, "answers": answers,
                      "all_classes": classes, "expected": float(expected)})
    # Random multi-sentence ROUGE pairs over a tiny vocabulary: exercises the LCS tie-breaking.
    for _ in range(12):
        pred, ref = random_text(int(rng.integers(1, 4))), random_text(int(rng.integers(1, 4)))
        cases.append({"kind": "scorer", "scorer": "rouge", "prediction": pred, "answers": [ref],
                      "all_classes": [], "expected": rouge_score(pred, ref)})
    # Lookup by name with several answers (max over answers).
    for name, pred, answers, classes in [("qa_f1", "Barack Obama", ["Obama", "Michelle"], []),
                                         ("code_sim", "x = 1", ["x = 2", "y = 1", "x = 1"], []),
                                         ("count", "3", [], [])]:
        expected = max([0.0] + [NAME2METRIC[name](pred, a, all_classes=classes) for a in answers])
        cases.append({"kind": "scorer", "scorer": name, "prediction": pred, "answers": answers,
                      "all_classes": classes, "expected": float(expected)})
    # normalize_answer, including the Unicode lowercasing blocks the C++ side covers.
    blocks = [(0xA0, 0x17F), (0x386, 0x3AB), (0x400, 0x4BF), (0xFF01, 0xFF5E)]
    texts = [" ".join(chr(c) for c in range(lo, hi + 1)) for lo, hi in blocks]
    texts += ["The  Quick,  brown-fox; an ANT... the end", "a", "an", "the", "A.", "theatre anthem banana",
              "é a é", "\u2014a\u2014", "_a_", "x\u00a0a\u00a0y", "a\u0085b", "İstanbul", "İA a", "ÀÉÎ the ŒUVRE"]
    for text in texts:
        cases.append({"kind": "normalize", "text": text, "expected": normalize_answer(text)})
    # fuzz.ratio directly.
    for a, b in [("", ""), ("a", ""), ("kitten", "sitting"), ("lewenstein", "levenshtein"), ("héllo", "hello"),
                 ("abcdexyz", "abcdeuvw"), ("ab", "ba"), ("aaaa", "aa")]:
        cases.append({"kind": "fuzz_ratio", "a": a, "b": b, "expected": fuzz.ratio(a, b)})
    return cases


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    meta = {"generated_by": "tools/make_metric_goldens.py", "python": sys.version.split()[0],
            "scipy": scipy.__version__, "numpy": np.__version__}
    with open(os.path.join(OUT_DIR, "rank_goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": rank_cases()}, f, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT_DIR, "scorer_goldens.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": scorer_cases()}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
