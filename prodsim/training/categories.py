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


NEGATIVE_CANDIDATES = 50  # nearest products searched for each product's hard negative


class VectorScores:
    """Similarities of unit vectors on demand, for the trainer's negative mining, without an n x n matrix.

    ``scores[r, c]`` is one pair's cosine; ``scores[r]`` one row against every product.
    """

    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors

    def __getitem__(self, key):
        if isinstance(key, tuple):
            row, col = key
            return self.vectors[col] @ self.vectors[row]
        return self.vectors @ self.vectors[key]


def category_pairs(categories: pd.Series, vectors: np.ndarray, held_out_share: float = 0.2, seed: int = 0):
    """Training and validation pairs over one table from its category labels.

    Args:
        categories: a label per product ("" = unknown, left out).
        vectors: (n, d) current unit vectors; a training product's hard negative is its most
            similar product of another category among its NEGATIVE_CANDIDATES nearest (a random
            one of another category when none of those is).

    Returns:
        (train, valid, held_out_rows): train and valid as (rows, cols, labels).

    Raises:
        BadInputError: fewer than two categories with two or more products.
    """
    from prodsim.index import nearest_neighbours

    rng = np.random.default_rng(seed)
    labels = categories.fillna("").astype(str).to_numpy()
    counts = pd.Series(labels[labels != ""]).value_counts()
    usable = set(counts.index[counts >= 2])
    if len(usable) < 2:
        raise BadInputError("Training from categories needs at least two categories with two or more products each.")
    rows = np.flatnonzero(np.isin(labels, list(usable)))
    held_out = np.zeros(len(labels), dtype=bool)
    held_out[rng.choice(rows, max(2, int(held_out_share * len(rows))), replace=False)] = True
    _, nearest = nearest_neighbours(vectors, min(NEGATIVE_CANDIDATES, len(vectors) - 1))

    def pairs(members: np.ndarray, hard: bool):
        by_label = pd.Series(members).groupby(labels[members]).apply(lambda s: s.to_numpy()).to_dict()
        in_members = np.zeros(len(labels), dtype=bool)
        in_members[members] = True
        left, right, target = [], [], []
        for row in members:
            same = by_label[labels[row]]
            if len(same) < 2:
                continue
            positive = rng.choice(same[same != row])
            candidates = nearest[row][(nearest[row] >= 0)]
            candidates = candidates[in_members[candidates] & (labels[candidates] != labels[row])] if hard else candidates[:0]
            if len(candidates):
                negative = candidates[0]
            else:
                while labels[negative := rng.choice(members)] == labels[row]:
                    pass
            left += [row, row]
            right += [positive, negative]
            target += [1, 0]
        return np.array(left), np.array(right), np.array(target)

    return pairs(rows[~held_out[rows]], True), pairs(rows[held_out[rows]], False), np.flatnonzero(held_out)
