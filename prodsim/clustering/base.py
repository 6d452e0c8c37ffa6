"""The clusterer contract: reduced coordinates in, a group number per product out (-1 for outliers)."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Clusterer(ABC):
    """Finds groups; subclasses implement :meth:`fit_predict` and :meth:`settings`."""

    @abstractmethod
    def fit_predict(self, reduced: np.ndarray) -> np.ndarray:
        """(n,) int labels 0..k-1, -1 for products left out."""

    @abstractmethod
    def settings(self) -> tuple:
        """The settings the labels depend on (hashable; part of the cache key)."""

    def check(self, n: int) -> None:
        """Raises BadInputError when this clusterer cannot group ``n`` products (default: any n)."""


class OneGroup(Clusterer):
    """Every product in one group (no grouping; also a test seam)."""

    def fit_predict(self, reduced: np.ndarray) -> np.ndarray:
        return np.zeros(len(reduced), dtype=np.int64)

    def settings(self) -> tuple:
        return ("one group",)
