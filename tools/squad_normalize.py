"""normalize_answer of the SQuAD v1.1 evaluation script, which THUDM/LongBench (LongBench/metrics.py) and
OpenBMB/InfiniteBench (src/compute_scores.py) both copy letter for letter; one copy here, imported by
make_metric_goldens.py and make_benchmark_goldens.py. Standard library only."""
import re
import string


def normalize_answer(s):
    """Lower text and remove punctuation, articles and extra whitespace."""

    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))
