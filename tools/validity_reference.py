#!/usr/bin/env python3
"""Independent recomputation of a both-mode run's predictive-validity numbers from samples.jsonl (scipy).

Written from docs/method.md §5 "Predictive validity", not from claa's C++: for every rank metric (spearman,
kendall, recall, mass_recall, ndcg, evidence_recall; at the pipeline's l_p and averaged over layers), the
cells' mean metric and mean score, Spearman ρ across cells (scipy.stats.spearmanr), the same across the methods
at each keep rate averaged over keep rates, and the AUC within cells
(scipy.stats.mannwhitneyu's U summed over cells ÷ the number of correct × wrong pairs).

  python3 tools/validity_reference.py RUN_DIR/samples.jsonl > expected.json

tests/reports/test_validity.cpp compares claa's summary numbers with this script's output on
tests/fixtures/reports/both_run (within 1e-9); the fixture's expected file is regenerated with
  ~/.venvs/ref/bin/python tools/validity_reference.py tests/fixtures/reports/both_run/samples.jsonl \
      > tests/fixtures/reports/both_run/validity_reference.json
"""
import json
import math
import sys

import numpy as np
import scipy
import scipy.stats as st

BASES = ["evidence_recall", "mass_recall", "recall", "ndcg", "spearman", "kendall"]


def layer_value(layer, base, k):
    if layer.get("nonfinite", 0) or layer.get("oracle_nonfinite", 0):
        return math.nan
    if base in ("spearman", "kendall"):
        return float(layer[base])
    values = layer.get(base, [])
    return float(values[k]) if k < len(values) else math.nan


def sample_value(heuristic, rank_layer, base, k, at_lp):
    layers = heuristic["layers"]
    if at_lp and rank_layer is not None:
        return layer_value(layers[rank_layer], base, k) if rank_layer < len(layers) else math.nan
    vals = [layer_value(l, base, k) for l in layers]
    vals = [v for v in vals if math.isfinite(v)]
    return sum(vals) / len(vals) if vals else math.nan


def main(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    ranked = [r for r in records if not r.get("empty_answer", False)]
    keeps = ranked[0]["keep_rates"]
    cells = [(name, keep, k) for name in ranked[0]["heuristics"] for k, keep in enumerate(keeps)]
    out = []
    for base in BASES:
        for at_lp in (True, False):
            metric = np.full((len(cells), len(ranked)), np.nan)
            points = np.full((len(cells), len(ranked)), np.nan)
            correct = np.zeros((len(cells), len(ranked)), dtype=bool)
            for c, (name, keep, k) in enumerate(cells):
                for i, r in enumerate(ranked):
                    metric[c, i] = sample_value(r["heuristics"][name], r.get("rank_layers", {}).get(name), base, k, at_lp)
                    for res in r["results"]:
                        if res["method"] == name and res["keep"] == keep:
                            points[c, i] = 100.0 * res["score"] / r["max_score"]
                            correct[c, i] = res["score"] >= r["max_score"]
            ok = np.all(np.isfinite(metric) & np.isfinite(points), axis=0)
            if not ok.any():
                continue
            m, p, y = metric[:, ok], points[:, ok], correct[:, ok]
            cell_metric, cell_score = m.mean(axis=1), p.mean(axis=1)
            rho = st.spearmanr(cell_metric, cell_score).statistic
            per_keep = []
            for keep in keeps:
                rows = [c for c, cell in enumerate(cells) if cell[1] == keep]
                r = st.spearmanr(cell_metric[rows], cell_score[rows]).statistic
                if np.isfinite(r):
                    per_keep.append(r)
            u = pairs = 0.0
            for c in range(len(cells)):
                pos, neg = m[c, y[c]], m[c, ~y[c]]
                if len(pos) and len(neg):
                    u += st.mannwhitneyu(pos, neg).statistic
                    pairs += len(pos) * len(neg)
            out.append({"metric": base + ("@l_p" if at_lp else " (layer mean)"), "samples": int(ok.sum()),
                        "rho_across_cells": None if not np.isfinite(rho) else float(rho),
                        "auc_within_cells": float(u / pairs) if pairs else None,
                        "rho_across_methods_per_keep": float(np.mean(per_keep)) if per_keep else None,
                        "cell_metric": cell_metric.tolist(), "cell_score": cell_score.tolist()})
    json.dump({"meta": {"generated_by": "tools/validity_reference.py", "scipy": scipy.__version__,
                        "numpy": np.__version__, "cells": [[n, kp] for n, kp, _ in cells]},
               "metrics": out}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
