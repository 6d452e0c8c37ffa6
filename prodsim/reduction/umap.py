"""UMAP as a reducer: cosine UMAP, fitted on a sample above 5,000 products (see prodsim.projection)."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np

from prodsim.projection import ProjectionConfig, umap_project
from prodsim.reduction.base import Reducer


class UMAPReducer(Reducer):
    """Cosine UMAP to ``n_components`` dimensions (2 for a map; 5 with min_dist 0 for finding groups)."""

    def __init__(self, n_components: int = 5, n_neighbors: int = 15, min_dist: float = 0.0, seed: int = 42):
        self.config = ProjectionConfig(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, seed=seed)

    def fit_transform(self, vectors: np.ndarray) -> np.ndarray:
        return umap_project(vectors, self.config)

    def settings(self) -> tuple:
        return ("umap", *astuple(self.config))
