"""Weak supervision from a category column: products of one category are pulled together.

Each training product gets one positive (a random product of its category) and one hard
negative (its most similar product of another category), and the same contrastive fine-tuning
as for labelled pairs runs on them, except that batch neighbours of the same category are not
counted as negatives (with a handful of categories most of them would be). A share of the products is held out: the validation pairs
(same category = 1) come only from them, so early stopping never sees the training products.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError


def category_pairs(categories: pd.Series, scores: np.ndarray, held_out_share: float = 0.2, seed: int = 0):
    """Training and validation pairs over one table from its category labels.

    Args:
        categories: a label per product ("" = unknown, left out).
        scores: (n, n) current similarity, for the hard negatives.

    Returns:
        (train, valid, held_out_rows): train and valid as (rows, cols, labels).

    Raises:
        BadInputError: fewer than two categories with two or more products.
    """
    rng = np.random.default_rng(seed)
    labels = categories.fillna("").astype(str).to_numpy()
    counts = pd.Series(labels[labels != ""]).value_counts()
    usable = set(counts.index[counts >= 2])
    if len(usable) < 2:
        raise BadInputError("Training from categories needs at least two categories with two or more products each.")
    rows = np.flatnonzero(np.isin(labels, list(usable)))
    held_out = np.zeros(len(labels), dtype=bool)
    held_out[rng.choice(rows, max(2, int(held_out_share * len(rows))), replace=False)] = True

    def pairs(members: np.ndarray, negatives_from_scores: bool):
        left, right, target = [], [], []
        for row in members:
            same = members[(labels[members] == labels[row]) & (members != row)]
            if len(same) == 0:
                continue
            other = members[labels[members] != labels[row]]
            negative = other[np.argmax(scores[row, other])] if negatives_from_scores else rng.choice(other)
            left += [row, row]
            right += [rng.choice(same), negative]
            target += [1, 0]
        return np.array(left), np.array(right), np.array(target)

    return pairs(rows[~held_out[rows]], True), pairs(rows[held_out[rows]], False), np.flatnonzero(held_out)
