#!/usr/bin/env python3
"""Golden scores for the LongBench v2, InfiniteBench and SCBench scorers (datasets/longbench_v2.cpp,
evaluation/infinitebench_scorers.cpp).

The functions below are copies of the benchmarks' own Python, verbatim except where marked, so the
goldens come from the reference code rather than from a re-implementation:
  - THUDM/LongBench (main) pred.py: extract_answer; result.py: judge = pred == answer.
  - OpenBMB/InfiniteBench src/compute_scores.py: normalize_answer, f1_score, qa_f1_score, first_int_match,
    get_score_one_kv_retrieval, get_score_one_passkey, get_score_one_number_string,
    get_score_one_longbook_choice_eng.
  - microsoft/MInference scbench/compute_scores.py: string_match_all, get_score_one_kv_retrieval,
    get_score_one_longdialogue_qa_eng (SCBench's versions differ from InfiniteBench's), and its
    Multiturnbench_to_Infinitebench mapping (scbench_choice_eng → longbook_choice_eng, ...).

Reads tests/fixtures/datasets/benchmark_scorer_cases.json ({task, prediction, labels}) and writes
tests/fixtures/datasets/benchmark_scorer_goldens.json (the same with "score"). Standard library only.
Usage: python3 tools/make_benchmark_goldens.py
"""
import json
import re
from collections import Counter
from pathlib import Path

from squad_normalize import normalize_answer

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests/fixtures/datasets/benchmark_scorer_cases.json"
GOLDENS = ROOT / "tests/fixtures/datasets/benchmark_scorer_goldens.json"


# ---- THUDM/LongBench pred.py ----
def extract_answer(response):
    response = response.replace('*', '')
    match = re.search(r'The correct answer is \(([A-D])\)', response)
    if match:
        return match.group(1)
    else:
        match = re.search(r'The correct answer is ([A-D])', response)
        if match:
            return match.group(1)
        else:
            return None


# ---- OpenBMB/InfiniteBench src/compute_scores.py ----
# normalize_answer: the SQuAD copy both benchmarks share (tools/squad_normalize.py).


def f1_score(prediction, ground_truth) -> tuple:
    common = Counter(prediction) & Counter(ground_truth)
    num_same = sum(common.values())
    if num_same == 0:
        return 0, 0, 0
    precision = 1.0 * num_same / len(prediction)
    recall = 1.0 * num_same / len(ground_truth)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1, precision, recall


def qa_f1_score(pred: str, ground_truths) -> float:
    """Computes the F1, recall, and precision."""
    f1 = 0
    prec = 0
    recall = 0
    for ground_truth in ground_truths:
        normalized_prediction = normalize_answer(pred)
        normalized_ground_truth = normalize_answer(ground_truth)

        prediction_tokens = normalized_prediction.split()
        ground_truth_tokens = normalized_ground_truth.split()
        scores = f1_score(prediction_tokens, ground_truth_tokens)
        this_f1, this_prec, this_recall = scores
        f1 = max(f1, this_f1)
        prec = max(prec, this_prec)
        recall = max(recall, this_recall)
    return f1


def first_int_match(prediction):
    pred_list = re.split("[^0-9]", prediction)
    pred_value = ""
    for item in pred_list:
        if item != "":
            pred_value = item
            break
    return pred_value


def ib_get_score_one_kv_retrieval(pred, label, model_name: str) -> bool:
    for c in ['\n', ':', '\"', '\'', '.', ',', '?', '!', '{', '}']:
        pred = pred.replace(c, ' ')
    words = pred.split()
    return label in words


def get_score_one_passkey(pred, label, model_name: str) -> bool:
    if isinstance(label, list):
        label = label[0]
    return label == first_int_match(pred)


def get_score_one_number_string(pred, label, model_name: str) -> bool:
    if isinstance(label, list):
        label = label[0]
    return label == first_int_match(pred)


def get_score_one_longbook_choice_eng(pred, label, model_name: str) -> bool:
    # Just use the first letter as the prediction
    pred = pred.strip()
    if pred == "":
        return False
    if pred[0] in "ABCD":
        return pred[0] in label
    if pred in label:
        return True
    # Find a answer prefix
    for c in ["\n", '"', "'", ".", ",", "?", "!", "{", "}"]:
        pred = pred.replace(c, " ")
    while "  " in pred:
        pred = pred.replace("  ", " ")
    ans_prefixes = [
        "answer is:",
        "answer:",
        "answer is",
        "option is",
    ]
    for prefix in ans_prefixes:
        idx = pred.find(prefix)
        if idx == -1:
            continue
        # The prediction ends with this prefix
        if len(pred) < idx + len(prefix) + 1:
            return False
        after_prefix = pred[idx + len(prefix) + 1 :]
        for s in label:
            if after_prefix.startswith(s):
                return True
        return False

    # Finally, just find the first occurrence of A, B, C, or D.
    words = pred.split()
    for word in words:
        if word in "ABCD":
            return word in label
    return False


# ---- microsoft/MInference scbench/compute_scores.py ----
def string_match_all(pred, ref, model_name=""):
    score = sum([1.0 if r.lower() in pred.lower() else 0.0 for r in ref]) / len(ref)
    return round(score, 2)


def sc_get_score_one_kv_retrieval(pred, label, model_name: str) -> bool:
    return label in pred


def get_score_one_longdialogue_qa_eng(pred, label, model_name: str) -> bool:
    pred = pred.strip()
    pred = pred.upper()
    for item in label:
        if item.upper() in pred:
            return 1
    return 0


def score(task, prediction, labels):
    if task == "longbench_v2":  # result.py: int(pred == answer)
        return float(extract_answer(prediction.strip()) == labels[0])
    getters = {
        "passkey": lambda p, l: get_score_one_passkey(p, l, ""),
        "number_string": lambda p, l: get_score_one_number_string(p, l, ""),
        # Marked departure: the HF files hold the label as a one-element list, for which the function
        # (written for the bare strings in its results/ files) would always say False; claa applies
        # passkey's own `label[0]` rule first.
        "kv_retrieval": lambda p, l: ib_get_score_one_kv_retrieval(p, l[0], ""),
        "longbook_qa_eng": lambda p, l: qa_f1_score(p, l),
        "longbook_choice_eng": lambda p, l: get_score_one_longbook_choice_eng(p, l, ""),
        "scbench_kv": lambda p, l: sc_get_score_one_kv_retrieval(p, l[0], ""),
        "scbench_prefix_suffix": lambda p, l: sc_get_score_one_kv_retrieval(p, l[0], ""),
        "scbench_qa_eng": lambda p, l: get_score_one_longdialogue_qa_eng(p, l, ""),
        "scbench_choice_eng": lambda p, l: get_score_one_longbook_choice_eng(p, l, ""),
        "scbench_vt": lambda p, l: string_match_all(p, l),
    }
    return float(getters[task](prediction, labels))


def main():
    cases = json.loads(CASES.read_text())
    out = [dict(c, score=score(c["task"], c["prediction"], c["labels"])) for c in cases]
    GOLDENS.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} goldens to {GOLDENS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
