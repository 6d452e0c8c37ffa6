"""k-means as a clusterer: exactly ``k`` groups."""

from __future__ import annotations

import numpy as np

from prodsim.clustering.base import Clusterer
from prodsim.errors import BadInputError


class KMeansClusterer(Clusterer):
    """``k`` groups by k-means (10 starts)."""

    def __init__(self, k: int | None, seed: int = 42):
        self.k, self.seed = k, seed

    def check(self, n: int) -> None:
        if self.k is None or not 2 <= self.k <= n:
            raise BadInputError(f"k-means needs a number of groups between 2 and the number of products ({n}); got {self.k}.")

    def fit_predict(self, reduced: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        return KMeans(self.k, n_init=10, random_state=self.seed).fit_predict(reduced)

    def settings(self) -> tuple:
        return ("kmeans", self.k, self.seed)
