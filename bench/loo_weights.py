"""Hybrid-score weights chosen by leave-one-benchmark-out: fit on Abt-Buy, test on Amazon-Google, and the reverse.

Usage: python bench/loo_weights.py
For each benchmark the score parts (dense text cosine, char/word/code TF-IDF views) are computed once, as
``python -m prodsim match`` does; then every weight setting on a grid is scored by zero-shot recall@1 (CSLS on).
The setting best on one benchmark is reported on the other, beside the shipped defaults and the baseline the
issue names (character 3-5-gram TF-IDF over all columns). Nothing is tuned on the benchmark it is reported on.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from common import DATASETS, machine, report
from sklearn.feature_extraction.text import TfidfVectorizer

from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.encoders.registry import load_text_encoder
from prodsim.matching import retrieval_metrics, score_tables
from prodsim.similarity import HybridWeights, combine, csls

BENCHMARKS = ("abt-buy", "amazon-google")
STEPS = np.round(np.arange(0.0, 1.01, 0.1), 2)


def tables(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    raws = [read_table(DATASETS / name / f"table{side}.csv") for side in "AB"]
    products = [build_products(raw, guess_mapping(raw.frame))[0] for raw in raws]
    gold = pd.read_csv(DATASETS / name / "gold.csv", dtype=str)
    return products[0], products[1], gold, [raw.frame for raw in raws]


def recall_at_1(total: np.ndarray, left_ids, right_ids, gold: pd.DataFrame) -> float:
    from prodsim.matching import MatchScores

    scores = MatchScores(total, {}, left_ids, right_ids, np.zeros(1), np.zeros(1))
    return retrieval_metrics(scores, gold)["recall_at_1"]


def char_tfidf_all_columns(frames: list[pd.DataFrame], left_ids, right_ids, gold) -> float:
    """The baseline: character 3-5-grams over every column but the id, cosine."""
    texts = [f.drop(columns=["id"]).astype(str).agg(" ".join, axis=1) for f in frames]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(pd.concat(texts))
    total = (vectorizer.transform(texts[0]) @ vectorizer.transform(texts[1]).T).toarray()
    return recall_at_1(total, left_ids, right_ids, gold)


def grid() -> list[dict[str, float]]:
    settings = []
    for dense, char, word in itertools.product(STEPS, STEPS, STEPS):
        code = round(1.0 - dense - char - word, 2)
        if code >= -1e-9:
            settings.append({"dense": float(dense), "char": float(char), "word": float(word), "code": max(code, 0.0)})
    return settings


def main() -> None:
    encoder = load_text_encoder()
    parts, baselines, figures = {}, {}, {}
    for name in BENCHMARKS:
        left, right, gold, frames = tables(name)
        scores = score_tables(left, right, encoder)
        parts[name] = (scores.parts, scores.left_ids, scores.right_ids, gold)
        baselines[name] = char_tfidf_all_columns(frames, scores.left_ids, scores.right_ids, gold)
    settings = grid()
    hubness_k = HybridWeights().hubness_k
    table = {name: [recall_at_1(csls(combine(p["dense"], p, w), hubness_k), l, r, g) for w in settings]
             for name, (p, l, r, g) in parts.items()}
    defaults = HybridWeights().active(True)
    for fit, test in (BENCHMARKS, BENCHMARKS[::-1]):
        best = int(np.argmax(table[fit]))
        p, l, r, g = parts[test]
        figures[f"fit {fit}, test {test}"] = {
            "weights": settings[best], "recall_at_1_on_fit": table[fit][best], "recall_at_1_on_test": table[test][best],
            "best_possible_on_test": max(table[test])}
    for name, (p, l, r, g) in parts.items():
        figures[f"defaults on {name}"] = recall_at_1(csls(combine(p["dense"], p, defaults), hubness_k), l, r, g)
        figures[f"char TF-IDF over all columns on {name}"] = baselines[name]
    report({"bench": "loo_weights", "machine": machine("cpu"), "grid_settings": len(settings), "defaults": defaults, **figures})


if __name__ == "__main__":
    main()
