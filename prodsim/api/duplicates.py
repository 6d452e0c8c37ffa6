"""Duplicate listings: candidate pairs, the duplicate model that judges them, and learning it from decisions.

One implementation behind the Duplicates page and ``python -m prodsim duplicates``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodsim.neighbours import DUPLICATE_THRESHOLD, ProductSimilarity, duplicate_groups
from prodsim.pair_labels import PairLabels
from prodsim.workspace import Workspace

FLOOR = 0.6  # pairs are found once down to this score; a higher threshold only filters them
PAIR_COLUMNS = ["left_id", "right_id", "left_title", "right_title", "score", "probability", "suggested", "label"]


def duplicate_model(workspace: Workspace, state: str):
    """The duplicate model learnt from this workspace's decisions under ``state``, else the default one shipped with
    prodsim (``details["default"]``), trained on public shop pairs."""
    from prodsim.training import duplicates

    return duplicates.load(workspace, state) or duplicates.default_model()


def duplicate_decisions_needed(decisions) -> tuple[int, int]:
    """How many more "same product" and other decisions (``PairLabels.labels()``) the duplicate model needs to learn."""
    from prodsim.training import duplicates

    return duplicates.decisions_still_needed(decisions)


def learn_duplicates(workspace: Workspace, pairs, products, state: str):
    """Trains the duplicate model on the workspace's pair decisions and keeps it (see prodsim.training.duplicates).

    Raises:
        BadInputError: too few decisions of either kind; nothing is written then.
    """
    from prodsim.training import duplicates

    model = duplicates.train_duplicate_model(pairs, products, PairLabels(workspace).labels(), state)
    duplicates.save(workspace, model)
    return model


def duplicate_candidates(similarity: ProductSimilarity, same_seller: bool = False) -> pd.DataFrame:
    """Every pair of listings scoring at least FLOOR (``ProductSimilarity.duplicate_pairs``), with both ids."""
    pairs = similarity.duplicate_pairs(threshold=FLOOR, same_seller=same_seller)
    ids = similarity.products["id"].to_numpy()
    return pairs.assign(left_id=ids[pairs["left"]], right_id=ids[pairs["right"]])


def judge_pairs(pairs: pd.DataFrame, products: pd.DataFrame, model) -> pd.DataFrame:
    """The pairs with the duplicate model's probability. Below its threshold a pair is suggested as different
    products; variants stay variants only when the model also thinks them alike."""
    pairs = pairs.assign(probability=model.probability(pairs, products))
    return pairs.assign(suggested=np.where(pairs["probability"] >= model.threshold, pairs["suggested"], "different"))


def one_product_groups(pairs: pd.DataFrame, n_products: int) -> np.ndarray:
    """A group number per product for listings that are one product (-1: none): pairs decided "same product", and
    undecided pairs suggested so."""
    same = (pairs["label"] == "duplicate") | ((pairs["label"] == "") & (pairs["suggested"] == "duplicate"))
    return duplicate_groups(pairs[same], n_products)


def duplicate_model_description(details: dict) -> dict:
    """Which duplicate model judges the pairs: "default" (shipped), "default at your threshold" (kept by learning,
    at the threshold the decisions chose) or "learnt"; with what learning measured on the decisions."""
    if details.get("default"):
        return {"model": "default", "summary": details["summary"]}
    kept = details.get("source") == "default"
    return {"model": "default at your threshold" if kept else "learnt", "learnt_at": details["created"],
            "decisions": details["decisions"],
            "f1_on_decisions": {"learnt" if name == "model" else name: round(figures["f1"], 4) for name, figures in details["held_out"].items()}}


def duplicate_listings(workspace: Workspace, similarity: ProductSimilarity, state: str, threshold: float = DUPLICATE_THRESHOLD,
                       same_seller: bool = False, learn: bool = False, top: int = 20) -> tuple[dict, pd.DataFrame]:
    """The Duplicates page as figures: pairs at ``threshold`` judged by the duplicate model, how many look like one
    product or variants, the groups they form, the decisions so far, and the most similar pairs.

    Args:
        state: the similarity state key (``workspace_state``) the duplicate model is tied to.
        learn: first learn the duplicate model from the workspace's decisions (as "Learn from my decisions").

    Returns:
        (summary, every pair at the threshold with ``PAIR_COLUMNS``, most similar first).

    Raises:
        BadInputError: ``learn`` with too few decisions; nothing is written then.
    """
    candidates = duplicate_candidates(similarity, same_seller)
    products = similarity.products
    if learn:
        learn_duplicates(workspace, candidates, products, state)
    model = duplicate_model(workspace, state)
    pairs = judge_pairs(candidates, products, model)
    pairs = pairs[pairs["score"] >= threshold].sort_values("score", ascending=False, kind="stable")
    titles = products["title"].to_numpy()
    store = PairLabels(workspace)
    decisions = store.labels()
    pairs = pairs.assign(label=store.labels_of(pairs["left_id"], pairs["right_id"], decisions),
                         left_title=titles[pairs["left"]], right_title=titles[pairs["right"]])
    groups = one_product_groups(pairs, len(products))
    more_same, more_other = duplicate_decisions_needed(decisions)
    summary = {
        "threshold": threshold, "pairs": len(pairs), "same_product": int((pairs["suggested"] == "duplicate").sum()),
        "variants": int((pairs["suggested"] == "variant").sum()), "reviewed": int((pairs["label"] != "").sum()),
        "groups": int(len(np.unique(groups[groups >= 0]))), "listings_in_groups": int((groups >= 0).sum()),
        "decisions": len(decisions), "decisions_still_needed": {"same_product": more_same, "other": more_other},
        **duplicate_model_description(model.details), "model_threshold": round(float(model.threshold), 4),
        "top_pairs": pairs[PAIR_COLUMNS].head(top).astype({"score": float, "probability": float}).round(4).to_dict(orient="records"),
    }
    return summary, pairs[PAIR_COLUMNS].reset_index(drop=True)
