"""The contract every vector index follows."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class VectorIndex(ABC):
    """Inner-product top-k over unit vectors (cosine similarity).

    Subclasses implement :meth:`fit` and :meth:`search`.
    """

    exact: bool = True

    @abstractmethod
    def fit(self, vectors: np.ndarray) -> VectorIndex:
        """Indexes (n, d) float32 unit rows; returns self."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows for each query.

        Returns:
            (scores (q, k) float32 descending, rows (q, k) int64); k is capped at the index size.
        """
