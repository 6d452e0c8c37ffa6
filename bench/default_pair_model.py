"""Trains the default pair model on the public labelled pairs and measures it across benchmarks.

Usage: python bench/default_pair_model.py [--write]

Cross-benchmark: trained on one benchmark's train pairs (calibrated, threshold chosen, on its valid
pairs), tested on the other's test pairs at that threshold, the zero-shot setting AnyMatch and MatchGPT
report. Then one model on both benchmarks' train pairs together (calibrated on both valid sets),
tested on each test split; the default models are linear (see train_pair_model). ``--write`` ships two (arrays and
JSON, no pickle): for two shops' tables (`match`), without the views' own similarities (``WORDING_SCALES``, chosen by
these cross-benchmark figures), in prodsim/training/default_tables_model/; and for a catalog's duplicate candidates,
reading every feature, in prodsim/training/default_pair_model/. Features are the default zero-shot scores (MiniLM-L6, hybrid, identifiers guessed),
exactly what `python -m prodsim match` computes. For reference, the hybrid score with its F1
threshold chosen on the test benchmark's own valid pairs. Across benchmarks also recall@1 over the gold pairs, by the
hybrid score and with each left product's best candidates reranked by the model trained on the other benchmark.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import DATASETS, machine, report

from prodsim import api
from prodsim.matching import RERANKED, best_threshold, classification_metrics, pair_positions, retrieval_metrics, score_tables
from prodsim.training.pair_model import (DEFAULT_MODEL_DIR, DEFAULT_TABLES_MODEL_DIR, FEATURES, WORDING_SCALES, pair_features,
                                         train_pair_model)

BENCHMARKS = ("abt-buy", "amazon-google")
MLP_SEEDS = (0, 1, 2, 3, 4)
PUBLISHED_F1 = {"AnyMatch": {"abt-buy": 0.893, "amazon-google": 0.693}, "MatchGPT (GPT-4)": {"abt-buy": 0.924, "amazon-google": 0.750}}


def featurise(benchmark: str, encoder) -> dict:
    """Features and labels of each split's pairs, and the hybrid score of the test and valid pairs."""
    folder = DATASETS / benchmark
    (left, right), identifiers = api.read_match_tables(folder / "tableA.csv", folder / "tableB.csv", None)
    scores = score_tables(left, right, encoder, identifiers=identifiers)
    splits = {}
    for split in ("train", "valid", "test"):
        rows, cols, labels = pair_positions(scores, api.matching.read_pairs(pairs=folder / f"{split}.csv")["pairs"])
        splits[split] = (pair_features(scores, left, right, rows, cols), labels, scores.total[rows, cols])
    return splits | {"identifiers": identifiers, "tables": (scores, left, right, pd.read_csv(folder / "gold.csv"))}


def recall_at_1(tables, model) -> dict:
    """Recall@1 over the benchmark's gold pairs: by the hybrid score, and with its best candidates reranked by ``model``."""
    scores, left, right, gold = tables
    figures = retrieval_metrics(scores, gold, model.reorder(scores, left, right))
    return {"hybrid_score": round(figures["before_reorder"]["recall_at_1"], 4), f"top_{RERANKED}_reranked": round(figures["recall_at_1"], 4)}


def figures(model, split) -> dict:
    features, labels, _ = split
    return {k: round(v, 4) for k, v in classification_metrics(model.probability(features), labels, model.threshold).items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="ship the model trained on both benchmarks")
    args = parser.parse_args()
    encoder = api.load_text_encoder(None)
    data = {name: featurise(name, encoder) for name in BENCHMARKS}
    result = {"bench": "default_pair_model", "machine": machine("cpu"), "features": list(FEATURES), "published_f1": PUBLISHED_F1,
              "identifier_columns": {name: data[name]["identifiers"] for name in BENCHMARKS}}
    for name in BENCHMARKS:
        _, valid_labels, valid_score = data[name]["valid"]
        _, test_labels, test_score = data[name]["test"]
        result[f"hybrid_score_{name}"] = classification_metrics(test_score, test_labels, best_threshold(valid_score, valid_labels))
    for source, target in (BENCHMARKS, BENCHMARKS[::-1]):
        model = train_pair_model(*data[source]["train"][:2], *data[source]["valid"][:2], linear=True, leave_out=WORDING_SCALES)
        result[f"trained_on_{source}_tested_on_{target}"] = figures(model, data[target]["test"]) | {
            "recall_at_1": recall_at_1(data[target]["tables"], model)}
        result[f"trained_on_{source}_tested_on_{source}"] = figures(model, data[source]["test"])
        # Beside it, the linear model that also reads each view's similarity (the duplicates default), and the MLP a
        # catalog's own labels train, by seed: their thresholds transfer worse to another catalog.
        every_feature = train_pair_model(*data[source]["train"][:2], *data[source]["valid"][:2], linear=True)
        mlps = [train_pair_model(*data[source]["train"][:2], *data[source]["valid"][:2], seed) for seed in MLP_SEEDS]
        for tested in (target, source):
            result[f"trained_on_{source}_tested_on_{tested}"] |= {
                "every_feature_f1": figures(every_feature, data[tested]["test"])["f1"],
                "mlp_f1_by_seed": [figures(m, data[tested]["test"])["f1"] for m in mlps]}
    both = [np.concatenate([data[name][split][i] for name in BENCHMARKS]) for split in ("train", "valid") for i in (0, 1)]
    left_out = {DEFAULT_TABLES_MODEL_DIR: WORDING_SCALES, DEFAULT_MODEL_DIR: ()}
    models = {folder: train_pair_model(*both, linear=True, leave_out=leave_out) for folder, leave_out in left_out.items()}
    result["trained_on_both"] = {name: figures(models[DEFAULT_TABLES_MODEL_DIR], data[name]["test"]) for name in BENCHMARKS}
    result["trained_on_both_every_feature"] = {name: figures(models[DEFAULT_MODEL_DIR], data[name]["test"]) for name in BENCHMARKS}
    if args.write:
        # each model keeps its own figures: the Duplicates page quotes the duplicates model's cross-benchmark F1
        cross = {key: value for key, value in result.items() if "_tested_on_" in key}
        measured = {DEFAULT_TABLES_MODEL_DIR: cross | {"trained_on_both": result["trained_on_both"]},
                    DEFAULT_MODEL_DIR: {key: {"f1": value["every_feature_f1"]} for key, value in cross.items()}
                    | {"trained_on_both": result["trained_on_both_every_feature"]}}
        for folder, model in models.items():
            model.save(folder, {"trained_on": "Abt-Buy and Amazon-Google train pairs (valid pairs for calibration)",
                                "left_out": list(left_out[folder]),
                                "text_model": encoder.fingerprint, "measured": measured[folder]})
        result["written"] = [str(folder) for folder in models]
    report(result)


if __name__ == "__main__":
    main()
