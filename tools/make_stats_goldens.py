#!/usr/bin/env python3
"""Golden cases for evaluation/resampling (tests/evaluation/test_resampling.cpp), from scipy and statsmodels.

Writes tests/fixtures/metrics/resampling_goldens.json:
  bootstrap    scipy.stats.bootstrap(method="percentile") intervals of a mean and of a paired Spearman ρ,
               at 200,000 resamples (the reference), plus the Monte-Carlo error of an interval at the
               resample count the C++ test uses (std of each endpoint over 40 reruns with other seeds):
               the test accepts |claa − scipy| ≤ 4 · that error.
  permutation  scipy.stats.permutation_test(permutation_type="samples", statistic mean(x − y), two-sided):
               exact p-values (all 2^n sign patterns) on small cases with ties and zero differences, and a
               Monte-Carlo case (n = 40) with its binomial error at the test's resample count.
  holm         statsmodels.stats.multitest.multipletests(method="holm").
  spearman     scipy.stats.spearmanr on doubles with ties.
  auc          per-stratum scipy.stats.mannwhitneyu(positives, negatives).statistic summed ÷ Σ n₊·n₋.

Run with the reference venv (scipy 1.17, statsmodels 0.15):
  ~/.venvs/ref/bin/python tools/make_stats_goldens.py
"""
import json
import os

import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.multitest import multipletests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "metrics", "resampling_goldens.json")
TEST_RESAMPLES = 10000   # what the C++ test runs the bootstrap and the Monte-Carlo permutation test with
LEVEL = 0.95

rng = np.random.default_rng(20261206)


def bootstrap_case(name, columns, statistic, paired):
    data = tuple(np.asarray(c, dtype=float) for c in columns)
    ref = st.bootstrap(data, statistic, paired=paired, vectorized=False, n_resamples=200_000,
                       confidence_level=LEVEL, method="percentile", rng=np.random.default_rng(1))
    lows, highs = [], []
    for seed in range(40):
        r = st.bootstrap(data, statistic, paired=paired, vectorized=False, n_resamples=TEST_RESAMPLES,
                         confidence_level=LEVEL, method="percentile", rng=np.random.default_rng(100 + seed))
        lows.append(r.confidence_interval.low)
        highs.append(r.confidence_interval.high)
    return {"name": name, "columns": [c.tolist() for c in data],
            "statistic": statistic.__name__, "low": float(ref.confidence_interval.low),
            "high": float(ref.confidence_interval.high), "low_mc_error": float(np.std(lows, ddof=1)),
            "high_mc_error": float(np.std(highs, ddof=1))}


def mean(x):
    return float(np.mean(x))


def spearman(x, y):
    return float(st.spearmanr(x, y).statistic)


def permutation_case(name, a, b, resamples):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    r = st.permutation_test((a, b), lambda x, y: np.mean(x - y), permutation_type="samples",
                            alternative="two-sided", n_resamples=resamples, vectorized=False,
                            rng=np.random.default_rng(7))
    exact = 2 ** len(a) <= resamples
    case = {"name": name, "a": a.tolist(), "b": b.tolist(), "resamples": resamples, "exact": exact,
            "p": float(r.pvalue)}
    if not exact:  # binomial error of a Monte-Carlo p at the test's resample count
        p = float(r.pvalue)
        case["mc_error"] = float(np.sqrt(p * (1 - p) / resamples)) * 2  # two tails: p = 2 · tail
    return case


def main():
    x = rng.normal(0.3, 1.0, 40)
    skewed = rng.exponential(2.0, 25)
    scores = rng.choice([0.0, 20.0, 40.0, 100.0], 30)
    metric = scores / 100 + rng.normal(0, 0.3, 30)
    bootstrap = [
        bootstrap_case("mean of 40 normals", [x], mean, False),
        bootstrap_case("mean of 25 exponentials", [skewed], mean, False),
        bootstrap_case("paired spearman with ties", [metric, scores], spearman, True),
    ]

    small_a = [0.0, 100.0, 100.0, 20.0, 0.0, 100.0, 40.0, 100.0]
    small_b = [0.0, 0.0, 100.0, 0.0, 0.0, 100.0, 20.0, 0.0]
    d10 = rng.normal(0.5, 1.0, 10).round(1)
    permutation = [
        permutation_case("8 task scores, ties and zero differences", small_a, small_b, 10000),
        permutation_case("10 rounded normals", d10.tolist(), [0.0] * 10, 10000),
        permutation_case("12 pairs, all equal", [5.0] * 12, [5.0] * 12, 10000),
        permutation_case("12 pairs, one sign", list(range(1, 13)), [0.0] * 12, 10000),
        permutation_case("40 pairs, Monte Carlo", rng.normal(0.25, 1, 40).tolist(), [0.0] * 40, TEST_RESAMPLES),
    ]

    holm = []
    for p in ([0.01, 0.04, 0.03, 0.005], [0.2, 0.2, 0.001, 0.5, 0.04], [0.5]):
        holm.append({"p": p, "adjusted": multipletests(p, method="holm")[1].tolist()})

    spear = []
    for n in (5, 17, 60):
        a = rng.integers(0, 6, n).astype(float)
        b = a * 0.5 + rng.normal(0, 1, n).round(1)
        spear.append({"a": a.tolist(), "b": b.tolist(), "rho": float(st.spearmanr(a, b).statistic)})

    auc = []
    for strata in (1, 3, 6):
        items = []
        num = den = 0.0
        for s in range(strata):
            n = int(rng.integers(4, 15))
            pos = rng.random(n) < 0.5
            score = rng.integers(0, 8, n) / 7 + pos * 0.2
            items += [{"score": float(v), "positive": bool(p), "stratum": s} for v, p in zip(score, pos)]
            if pos.any() and (~pos).any():
                num += st.mannwhitneyu(score[pos], score[~pos]).statistic
                den += pos.sum() * (~pos).sum()
        auc.append({"items": items, "auc": float(num / den) if den else None})

    out = {"meta": {"generated_by": "tools/make_stats_goldens.py", "scipy": scipy.__version__,
                    "statsmodels": statsmodels.__version__, "numpy": np.__version__,
                    "test_resamples": TEST_RESAMPLES, "level": LEVEL},
           "bootstrap": bootstrap, "permutation": permutation, "holm": holm, "spearman": spear, "auc": auc}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
