"""How much photos should count, measured on a catalog's own categories.

A product's nearest neighbours under the fused similarity ``(1 - w) * cos_text + w * cos_image``
should mostly share its category. For every weight on a grid this module counts how often
the ``neighbours`` nearest products of a labelled product share its category (the
*agreement*), on a bounded sample of labelled products that have photos. The labels are
whatever the catalog already knows: a category column, or the categories reviewers accepted.

Label-free estimates (text and photo neighbours' overlap, stability of halves) did not order
catalogs as their best weights do (``bench/photo_weight.py``); agreement with known categories
does, so the weight is measured where labels exist and stays :data:`DEFAULT_IMAGE_WEIGHT` where
none do. The agreement curve is flat near its top, so the choice is conservative in two ways:
among the weights within one standard error of the best, the one nearest the default is taken
(the "one-standard-error rule"), and it replaces the default only when it agrees clearly more
often (by more than two paired standard errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from prodsim.embedding import ProductVectors
from prodsim.encoders.fusion import DEFAULT_IMAGE_WEIGHT
from prodsim.errors import BadInputError

WEIGHT_GRID = tuple(round(float(w), 2) for w in np.arange(0, 1.0001, 0.05))
MIN_PRODUCTS = 50  # below this the agreement's standard error is as large as the differences between weights
MAX_PRODUCTS = 2000  # the sample's similarity matrices are MAX_PRODUCTS^2: bounded whatever the catalog's size


@dataclass(frozen=True)
class PhotoWeightMeasure:
    """A measured photo weight and the evidence for it.

    Attributes:
        weight: the chosen photo weight (DEFAULT_IMAGE_WEIGHT unless another agrees clearly more often).
        agreement: share of the labelled products' nearest neighbours that share their category at ``weight``.
        agreement_at_default: the same at DEFAULT_IMAGE_WEIGHT.
        products: labelled products with photos that were measured (a sample when there are more).
        categories: their distinct categories.
        neighbours: how many nearest neighbours of each product were looked at.
        curve: agreement per weight on :data:`WEIGHT_GRID` (for a picture).
    """

    weight: float
    agreement: float
    agreement_at_default: float
    products: int
    categories: int
    neighbours: int
    curve: dict[float, float]

    def to_dict(self) -> dict:
        """JSON-ready (the curve's keys as strings)."""
        return asdict(self) | {"curve": {f"{w:.2f}": a for w, a in self.curve.items()}}


def measure_image_weight(vectors: ProductVectors, labels: Sequence, *, neighbours: int = 5,
                         max_products: int = MAX_PRODUCTS, seed: int = 0) -> PhotoWeightMeasure:
    """The photo weight under which products' nearest neighbours most often share their category.

    Args:
        vectors: the products' text and photo parts (photo-less products are left out).
        labels: one category per product in ``vectors`` order; None, NaN or "" for unknown.
        neighbours: nearest neighbours looked at per product.
        max_products: labelled products sampled at most (seeded, so a measure can be repeated).

    Raises:
        BadInputError: no photos, or fewer than MIN_PRODUCTS labelled products with photos in
            categories of two or more, or a single category.
    """
    if vectors.image is None or not vectors.has_image.any():
        raise BadInputError("The photo weight is measured on products with photos; this catalog has none read.")
    known = _usable_labels(labels, vectors.has_image)
    if len(known) > max_products:
        known = known.iloc[np.sort(np.random.default_rng(seed).choice(len(known), max_products, replace=False))]
        known = _usable_labels(known.reindex(range(len(vectors.ids))), vectors.has_image)
    if len(known) < MIN_PRODUCTS or known.nunique() < 2:
        raise BadInputError(f"Measuring the photo weight needs at least {MIN_PRODUCTS} products with a photo and a known "
                            f"category, in 2 or more categories; there are {len(known)} in {known.nunique()}.")
    rows, codes = known.index.to_numpy(), known.factorize()[0]
    text, image = vectors.text[rows], vectors.image[rows]
    text_similarity, photo_similarity = text @ text.T, image @ image.T
    k = min(neighbours, len(rows) - 1)
    per_product = np.stack([_agreement(codes, (1 - w) * text_similarity + w * photo_similarity, k) for w in WEIGHT_GRID])
    means = per_product.mean(axis=1)
    default = WEIGHT_GRID.index(DEFAULT_IMAGE_WEIGHT)
    best = int(np.argmax(means))
    close_to_best = [i for i in range(len(WEIGHT_GRID)) if means[best] - means[i] <= _paired_error(per_product[best], per_product[i])]
    chosen = min(close_to_best, key=lambda i: (abs(WEIGHT_GRID[i] - DEFAULT_IMAGE_WEIGHT), WEIGHT_GRID[i]))
    if means[chosen] - means[default] <= 2 * _paired_error(per_product[chosen], per_product[default]):
        chosen = default
    return PhotoWeightMeasure(weight=WEIGHT_GRID[chosen], agreement=round(float(means[chosen]), 4),
                              agreement_at_default=round(float(means[default]), 4), products=len(rows),
                              categories=int(codes.max() + 1), neighbours=k,
                              curve={w: round(float(m), 4) for w, m in zip(WEIGHT_GRID, means)})


def _usable_labels(labels: Sequence, has_image: np.ndarray):
    """Labels of products with photos, as strings indexed by row, keeping categories with two or more such products."""
    import pandas as pd

    series = pd.Series(labels).reset_index(drop=True)
    text = series.where(series.notna(), "").astype(str).str.strip()
    kept = text[(text != "") & has_image[: len(text)]]
    return kept[kept.map(kept.value_counts()) >= 2]


def _agreement(codes: np.ndarray, similarity: np.ndarray, k: int) -> np.ndarray:
    """Per product: the share of its ``k`` most similar other products with its category code."""
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    return (codes[nearest] == codes[:, None]).mean(axis=1)


def _paired_error(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of the mean of a - b over the same products."""
    return float(np.std(a - b, ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("inf")
