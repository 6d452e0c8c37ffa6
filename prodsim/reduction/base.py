"""The reducer contract: (n, d) unit vectors in, (n, c) coordinates out (a map, or the space groups are found in)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Reducer(ABC):
    """Reduces product vectors before clustering or drawing.

    Subclasses implement :meth:`fit_transform` and :meth:`settings` (what the result depends on,
    part of every cache key of results derived from it).
    """

    @abstractmethod
    def fit_transform(self, vectors: np.ndarray) -> np.ndarray:
        """Returns (n, n_components) float32 coordinates for (n, d) unit rows."""

    @abstractmethod
    def settings(self) -> tuple:
        """The settings the coordinates depend on (hashable)."""


class NoReduction(Reducer):
    """Keeps the vectors as they are (cluster in the full space; also a test seam)."""

    def fit_transform(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=np.float32)

    def settings(self) -> tuple:
        return ("none",)
