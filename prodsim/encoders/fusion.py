"""Fusing text and photo similarity (NLP + CV) while keeping the parts apart.

The similarity of two products is a weighted mean of the parts both of them have::

    both have photos:  (1 - w) * cos_text + w * cos_image
    otherwise:         cos_text

so a product without a photo is compared on text alone and is not pulled down by a
missing part. Pages read the parts to say how much of a score came from each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prodsim.embedding import ProductVectors
from prodsim.encoders.base import l2_normalise

# Image weight used when most products have photos; text stays the main signal because
# photos of different products in one category often look alike (white-background shots).
DEFAULT_IMAGE_WEIGHT = 0.35


def default_image_weight(vectors: ProductVectors) -> float:
    """DEFAULT_IMAGE_WEIGHT when at least half the products have photos, else 0."""
    if vectors.image is None or vectors.has_image.mean() < 0.5:
        return 0.0
    return DEFAULT_IMAGE_WEIGHT


@dataclass
class FusedScores:
    """Similarities of one query product to candidates, with their parts (all shape (m,))."""

    total: np.ndarray
    text: np.ndarray
    image: np.ndarray  # 0 where either side has no photo
    image_used: np.ndarray  # bool: the photo part counted


class Fusion:
    """Weighted text + photo similarity over a workspace's vectors.

    Args:
        vectors: from :func:`prodsim.embedding.embed_products`.
        image_weight: w in the formula above, 0-1; None picks :func:`default_image_weight`.
    """

    def __init__(self, vectors: ProductVectors, image_weight: float | None = None):
        self.vectors = vectors
        self.image_weight = default_image_weight(vectors) if image_weight is None else float(np.clip(image_weight, 0, 1))
        self._matrices: dict[int, np.ndarray] = {}  # the fused matrix is asked for per query; photo imputation is O(n^2)

    def scores(self, query: int, candidates: np.ndarray | None = None) -> FusedScores:
        """Similarity of product ``query`` (row index) to ``candidates`` (row indices; default all)."""
        rows = np.arange(len(self.vectors.ids)) if candidates is None else np.asarray(candidates)
        return self.pair_scores(np.full(len(rows), query), rows)

    def pair_scores(self, left: np.ndarray, right: np.ndarray) -> FusedScores:
        """Similarity of product pairs (left[i], right[i]), with parts; all shape (m,)."""
        v = self.vectors
        text = np.einsum("ij,ij->i", v.text[left], v.text[right])
        if v.image is None or self.image_weight == 0:
            return FusedScores(text, text, np.zeros_like(text), np.zeros(len(left), dtype=bool))
        used = v.has_image[left] & v.has_image[right]
        image = np.where(used, np.einsum("ij,ij->i", v.image[left], v.image[right]), 0.0).astype(np.float32)
        total = np.where(used, (1 - self.image_weight) * text + self.image_weight * image, text)
        return FusedScores(total.astype(np.float32), text, image, used)

    def matrix(self, impute_neighbours: int = 5) -> np.ndarray:
        """One unit vector per product for maps and clustering: [sqrt(1-w)·text, sqrt(w)·image].

        Products without a photo get the mean photo vector of their ``impute_neighbours``
        nearest text neighbours that have one, so they sit among similar products instead
        of in a corner of their own.

        Returns:
            (n, d_text + d_image) float32, or the text vectors when no photo part is used.
        """
        if impute_neighbours not in self._matrices:
            self._matrices[impute_neighbours] = self._fuse(impute_neighbours)
        return self._matrices[impute_neighbours]

    def _fuse(self, impute_neighbours: int) -> np.ndarray:
        v, w = self.vectors, self.image_weight
        if v.image is None or w == 0:
            return v.text
        from prodsim.index import batch_index, search_in_blocks

        image = v.image.copy()
        missing, present = np.flatnonzero(~v.has_image), np.flatnonzero(v.has_image)
        if len(missing) and len(present):  # top-k per missing photo from an index: no missing x present matrix
            k = min(impute_neighbours, len(present))
            _, nearest = search_in_blocks(batch_index(v.text[present]), v.text[missing], k)
            image[missing] = l2_normalise(v.image[present][np.maximum(nearest, 0)].mean(axis=1))
        return l2_normalise(np.hstack([np.sqrt(1 - w) * v.text, np.sqrt(w) * image]))
