"""Duplicate listings on PriceRunner's 35k offers: time to list pairs, and pair precision/recall.

Usage: python bench/duplicates.py
Truth: offers with the same cluster_id are the same product (also reported: the same
cluster_label, because PriceRunner splits some products over several clusters of one label). Text vectors come from the
default encoder; timings exclude embedding (the app reads vectors from the workspace cache).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from common import DATASETS, machine, peak_rss_mb, report

from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.embedding import ProductVectors, TextTemplate
from prodsim.encoders.registry import load_text_encoder
from prodsim.neighbours import DUPLICATE_THRESHOLD, ProductSimilarity


def learn_from_decisions(similarity: ProductSimilarity, products: pd.DataFrame, decisions: int) -> dict:
    """A reviewer decides ``decisions`` random candidate pairs (truth: cluster_id); F1 on the pairs nobody decided."""
    from sklearn.metrics import f1_score

    from prodsim.matching import best_threshold
    from prodsim.training.duplicates import train_duplicate_model

    pairs = similarity.duplicate_pairs(threshold=0.6)
    ids, clusters = products["id"].to_numpy(), products["cluster_id"].to_numpy()
    truth = (clusters[pairs["left"]] == clusters[pairs["right"]]).astype(int)
    decided = np.random.default_rng(0).choice(len(pairs), decisions, replace=False)
    labels = pd.DataFrame({"left_id": ids[pairs["left"].iloc[decided]], "right_id": ids[pairs["right"].iloc[decided]],
                           "label": np.where(truth[decided] == 1, "duplicate", "different")})
    start = time.perf_counter()
    model = train_duplicate_model(pairs, products, labels, state="bench")
    seconds = time.perf_counter() - start
    rest = np.setdiff1d(np.arange(len(pairs)), decided)
    score = pairs["score"].to_numpy()
    learnt = model.probability(pairs, products)[rest] >= model.threshold
    return {"candidate_pairs": len(pairs), "undecided_pairs": len(rest), "train_seconds": round(seconds, 1),
            "f1_learnt": round(float(f1_score(truth[rest], learnt)), 3),
            "f1_score_threshold_from_decisions": round(float(f1_score(truth[rest], score[rest] >= best_threshold(score[decided], truth[decided]))), 3)}


def main() -> None:
    raw = read_table(DATASETS / "pricerunner" / "offers.csv")
    products = build_products(raw, guess_mapping(raw.frame))[0]
    encoder = load_text_encoder()
    start = time.perf_counter()
    text = encoder.encode(TextTemplate().render(products))
    embed_seconds = time.perf_counter() - start
    vectors = ProductVectors(products["id"].to_numpy(), text, None, np.zeros(len(products), dtype=bool))
    start = time.perf_counter()
    similarity = ProductSimilarity(products, vectors)
    build_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pairs = similarity.duplicate_pairs()
    pair_seconds = time.perf_counter() - start
    clusters = products["cluster_id"].to_numpy()
    labels = products["cluster_label"].str.lower().str.replace(" ", "").to_numpy()
    sizes = pd.Series(clusters).value_counts()
    true_pairs = int((sizes * (sizes - 1) // 2).sum())

    def quality(found: pd.DataFrame) -> dict:
        same = clusters[found["left"]] == clusters[found["right"]]
        duplicate = (found["suggested"] == "duplicate").to_numpy()
        return {"pairs": int(duplicate.sum()), "precision": round(float(same[duplicate].mean()), 3),
                "recall": round(float(same[duplicate].sum() / true_pairs), 3),
                "precision_by_cluster_label": round(float((labels[found["left"]] == labels[found["right"]])[duplicate].mean()), 3)}

    from prodsim import neighbours

    neighbours.ALL_PAIRS_EXACT_LIMIT = len(products)  # baseline: exact candidates for every product
    similarity.__dict__.pop("_all_pairs_index", None)  # the HNSW graph built above is kept per similarity model
    start = time.perf_counter()
    exact_pairs = similarity.duplicate_pairs()
    exact_seconds = time.perf_counter() - start
    found_by_both = len(pairs.merge(exact_pairs, on=["left", "right"]))
    same = clusters[pairs["left"]] == clusters[pairs["right"]]
    identical = products["title"].to_numpy()[pairs["left"]] == products["title"].to_numpy()[pairs["right"]]
    learnt = {str(n): learn_from_decisions(similarity, products, n) for n in (300, 600)}
    report({
        "bench": "duplicates",
        "learnt_from_simulated_decisions": learnt,
        "machine": machine("cpu"),
        "offers": len(products),
        "threshold": DUPLICATE_THRESHOLD,
        "seconds": {"embed_text": round(embed_seconds, 1), "prepare_similarity": round(build_seconds, 1),
                    "list_pairs": round(pair_seconds, 1), "page_total_after_embedding": round(build_seconds + pair_seconds, 1),
                    "list_pairs_exact_candidates": round(exact_seconds, 1)},
        "speedup_vs_exact_candidates": round(exact_seconds / pair_seconds, 2),
        "share_of_exact_pairs_found": round(found_by_both / max(len(exact_pairs), 1), 4),
        "pairs": len(pairs),
        "all_pairs_above_threshold": {"precision": round(float(same.mean()), 3), "recall": round(float(same.sum() / true_pairs), 3)},
        "suggested_duplicates": quality(pairs),
        "suggested_duplicates_with_same_seller_pairs": quality(similarity.duplicate_pairs(same_seller=True)),
        "identical_titles_in_other_products": round(float((identical & ~same).sum() / max(identical.sum(), 1)), 3),
        "true_pairs": true_pairs,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
