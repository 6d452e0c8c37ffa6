"""Zero-shot matching on shop pairs nobody tuned on: two real merchants of PriceRunner, each against the other.

Usage: python bench/unseen_shop_pairs.py [--pairs 3-6,298-119,3-17,6-31] [--mixed-right 3]
Issue 20's held-out shop pair (columns title, category, brand, modelno, price) is kept from us. PriceRunner holds
real offers of 306 merchants, each offer tied to a product (cluster), so any two merchants that sell the same
products form a shop pair whose defaults nobody chose: left = the first merchant's offers, right = the second's,
gold = the offers of one product in both. Each pair is run twice: as the shops wrote the titles, and with each
title's model number moved into a ``modelno`` column on both sides, as the held-out pair keeps them: the first
code-like token that is not a quantity (``64gb``, ``1400rpm``, ``55x152cm`` stay in the title). Labelled pairs for F1 are made as the DeepMatcher benchmarks were: each left offer with its five
nearest right offers by word overlap (TF-IDF over words, not the char baseline's views), true or not, split by left
offer into valid (a third) and test. ``python -m prodsim match`` (the default pair model fitted to the valid pairs,
and at its own threshold as ``zero_shot_f1``; the hybrid score at the valid threshold) runs beside the issue's
baseline, character 3-5-gram TF-IDF over all columns (its threshold also chosen on valid). ``--mixed-right`` runs a
merchant against one offer of every product from all the others (``3-all``: 2,547 offers over 13,180), a right
table as big and mixed as a marketplace's, where many true offers carry no model number.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, machine, report
from sklearn.feature_extraction.text import TfidfVectorizer

from prodsim import api
from prodsim.lexical import model_codes
from prodsim.matching import MatchScores, best_threshold, classification_metrics, pair_positions, retrieval_metrics

OFFERS = DATASETS / "pricerunner" / "offers.csv"
CANDIDATES_PER_OFFER = 5
FIGURES = ("recall_at_1", "mrr", "precision", "recall", "f1")
QUANTITY = re.compile(r"^\d+(\.\d+)?(x\d+)*[a-z]{0,3}$")  # 64gb, 1400rpm, 1080p, 55x152cm: specs, not model numbers


def move_model_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each name's first code-like token that is not a quantity moved into `modelno` (also left in a
    name that holds nothing else)."""
    def model_number(name: str) -> str:
        codes = [token for token in name.split() if model_codes(token) and not QUANTITY.match(token)]
        return codes[0] if codes else ""

    moved = table.assign(modelno=table["name"].map(model_number))
    rest = [" ".join(w for w in n.split() if w != m) if m else n for n, m in zip(moved["name"], moved["modelno"])]
    moved["name"] = [r or n for r, n in zip(rest, moved["name"])]  # a name that is only its model number keeps it
    return moved


def shop_tables(offers: pd.DataFrame, left_shop: int, right_shop: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(left, right, gold) for two merchants: columns id, name, category; gold pairs offers of one product."""
    return _with_gold(offers[offers["merchant_id"] == left_shop], offers[offers["merchant_id"] == right_shop])


def mixed_right_tables(offers: pd.DataFrame, left_shop: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(left, right, gold) for one merchant against a large marketplace-like table: one offer of every product
    from the other merchants (drawn at random), so the right side mixes every shop's wording and holds the
    variants and neighbours of each product, as a big second catalog does."""
    others = offers[offers["merchant_id"] != left_shop].sample(frac=1, random_state=0).drop_duplicates("cluster_id")
    return _with_gold(offers[offers["merchant_id"] == left_shop], others)


def _with_gold(left_offers: pd.DataFrame, right_offers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Both sides as catalog tables (id, name, category) and the gold pairs: offers of one product on both sides."""
    def table(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"id": rows["product_id"].astype(str), "name": rows["product_title"],
                             "category": rows["category_label"], "cluster": rows["cluster_id"]})

    left, right = table(left_offers), table(right_offers)
    gold = left.merge(right, on="cluster", suffixes=("_left", "_right"))[["id_left", "id_right"]]
    return left.drop(columns="cluster"), right.drop(columns="cluster"), gold


def labelled_pairs(left: pd.DataFrame, right: pd.DataFrame, gold: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid, test): every left offer with its nearest right offers by word TF-IDF, labelled by the gold pairs."""
    vectorizer = TfidfVectorizer(sublinear_tf=True).fit(pd.concat([left["name"], right["name"]]))
    overlap = (vectorizer.transform(left["name"]) @ vectorizer.transform(right["name"]).T).toarray()
    nearest = np.argsort(-overlap, axis=1)[:, :CANDIDATES_PER_OFFER]
    true = set(zip(gold["id_left"], gold["id_right"]))
    candidates = {(left["id"].iloc[i], right["id"].iloc[j]) for i, row in enumerate(nearest) for j in row}
    pairs = pd.DataFrame(sorted(candidates | true), columns=["ltable_id", "rtable_id"])
    pairs["label"] = [int(pair in true) for pair in zip(pairs["ltable_id"], pairs["rtable_id"])]
    lefts = np.random.default_rng(seed).permutation(left["id"].to_numpy())
    in_valid = pairs["ltable_id"].isin(set(lefts[: len(lefts) // 3]))
    return pairs[in_valid], pairs[~in_valid]


def char_tfidf_all_columns(left: pd.DataFrame, right: pd.DataFrame, gold, valid, test) -> dict:
    """The issue's baseline: character 3-5-grams over every column but the id, cosine; F1 at valid's threshold."""
    texts = [t.drop(columns=["id"]).fillna("").astype(str).agg(" ".join, axis=1) for t in (left, right)]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit(pd.concat(texts))
    total = (vectorizer.transform(texts[0]) @ vectorizer.transform(texts[1]).T).toarray()
    scores = MatchScores(total, {}, left["id"].to_numpy(), right["id"].to_numpy(), np.zeros(1), np.zeros(1))
    rows, cols, labels = pair_positions(scores, test)
    v_rows, v_cols, v_labels = pair_positions(scores, valid)
    figures = retrieval_metrics(scores, gold) | classification_metrics(
        total[rows, cols], labels, best_threshold(total[v_rows, v_cols], v_labels))
    return {k: round(float(figures[k]), 3) for k in FIGURES}


def run_pair(tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], run: str, scratch: Path) -> dict:
    left, right, gold = tables
    valid, test = labelled_pairs(left, right, gold)
    files = {}
    for name, frame in (("gold", gold), ("valid", valid), ("test", test)):
        files[name] = scratch / f"{run}-{name}.csv"
        frame.to_csv(files[name], index=False)
    variants = {"titles_as_written": (left, right),
                "model_numbers_in_modelno": (move_model_numbers(left), move_model_numbers(right))}
    figures = {"left_offers": len(left), "right_offers": len(right), "gold_pairs": len(gold),
               "test_pairs": len(test), "test_positives": int(test["label"].sum())}
    for name, (left_variant, right_variant) in variants.items():
        paths = []
        for side, table in (("left", left_variant), ("right", right_variant)):
            paths.append(scratch / f"{run}-{name}-{side}.csv")
            table.to_csv(paths[-1], index=False)
        result = api.match(paths[0], paths[1], gold=files["gold"], pairs=files["test"], valid=files["valid"])
        figures[name] = {"prodsim_match": {**{k: round(float(result[k]), 3) for k in FIGURES},
                                           "pair_model_source": result["pair_model_source"], "valid_f1": result["valid_f1"],
                                           "zero_shot_f1": round(float(result["zero_shot"]["f1"]), 3),
                                           **{f"hybrid_score_{k}": round(float(result["hybrid_score"][k]), 3)
                                              for k in ("recall_at_1", "mrr", "f1")},
                                           "identifier_columns": result["identifier_columns"]},
                         "char_tfidf_all_columns": char_tfidf_all_columns(left_variant, right_variant, gold, valid, test)}
        print(run, name, figures[name], flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="3-6,298-119,3-17,6-31", help="merchant id pairs, left-right, comma-separated")
    parser.add_argument("--mixed-right", default="3", help="merchant ids, comma-separated, each also run against one offer "
                        "of every product from all other merchants (run name '<id>-all'); '' for none")
    args = parser.parse_args()
    offers = pd.read_csv(OFFERS)
    shop_pairs = [tuple(int(m) for m in pair.split("-")) for pair in args.pairs.split(",")]
    mixed = [int(m) for m in args.mixed_right.split(",") if m]
    tables = ({f"{a}-{b}": shop_tables(offers, a, b) for a, b in shop_pairs}
              | {f"{a}-all": mixed_right_tables(offers, a) for a in mixed})
    with tempfile.TemporaryDirectory() as scratch:
        runs = {run: run_pair(run_tables, run, Path(scratch)) for run, run_tables in tables.items()}
    report({"bench": "unseen_shop_pairs", "machine": machine("cpu"), "pairs": runs})


if __name__ == "__main__":
    main()
