"""Finding groups as a sequence of swappable stages: reducer, clusterer, namer (as BERTopic takes its sub-models).

Each stage is a constructor argument with a contract in its package's ``base.py`` and a no-op
implementation (``NoReduction``, ``OneGroup``, ``NumberedNames``); the defaults are a 5-d cosine UMAP,
HDBSCAN and class-based TF-IDF names. Products a clusterer leaves out are, by default, put in the
group with the nearest centre (in the reduced space) and flagged as low confidence.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from prodsim.clustering.base import Clusterer
from prodsim.clustering.groups import Clusters, central_products
from prodsim.clustering.hdbscan import HDBSCANClusterer
from prodsim.clustering.kmeans import KMeansClusterer
from prodsim.errors import BadInputError
from prodsim.naming import ClassTfidfNamer, Namer
from prodsim.projection import MIN_PRODUCTS
from prodsim.reduction import Reducer, UMAPReducer
from prodsim.vector_cache import array_key
from prodsim.workspace import atomic_write_bytes

METHODS = ("hdbscan", "kmeans")


class GroupingPipeline:
    """vectors -> ``reducer`` -> ``clusterer`` -> outliers placed -> ``namer``.

    Args:
        reducer: default 5-d cosine UMAP with min_dist 0 (seed 42).
        clusterer: default HDBSCAN.
        namer: default the three most distinctive words of each group.
        assign_outliers: put products the clusterer left out in the nearest group (flagged low confidence).
    """

    def __init__(self, reducer: Reducer | None = None, clusterer: Clusterer | None = None, namer: Namer | None = None,
                 assign_outliers: bool = True):
        self.reducer = reducer or UMAPReducer(n_components=5, min_dist=0.0)
        self.clusterer = clusterer or HDBSCANClusterer()
        self.namer = namer or ClassTfidfNamer()
        self.assign_outliers = assign_outliers

    def settings(self) -> tuple:
        """What the labels depend on besides the vectors (the cache key)."""
        return (self.reducer.settings(), self.clusterer.settings(), self.assign_outliers)

    def labels(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(labels, low_confidence, outlier share before assignment).

        Raises:
            BadInputError: too few products, a clusterer that cannot group them, or identical vectors.
        """
        from scipy.spatial import cKDTree

        if len(vectors) < MIN_PRODUCTS:
            raise BadInputError(f"Grouping needs at least {MIN_PRODUCTS} products; this catalog has {len(vectors)}.")
        self.clusterer.check(len(vectors))
        reduced = self.reducer.fit_transform(vectors)
        labels = np.asarray(self.clusterer.fit_predict(reduced)).astype(np.int64)
        outliers = labels < 0
        share = float(outliers.mean())
        if labels.max() < 0:
            labels = np.zeros(len(vectors), dtype=np.int64)
        elif self.assign_outliers and outliers.any():
            centres = np.stack([reduced[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
            labels[outliers] = cKDTree(centres).query(reduced[outliers], k=1)[1]
        return labels, outliers & self.assign_outliers, share

    def _path(self, vectors: np.ndarray, cache_dir: Path) -> Path:
        return cache_dir / f"{array_key(vectors, *self.settings())}.npz"

    def fit(self, vectors: np.ndarray, texts: list[str], cache_dir: Path | None = None) -> Clusters:
        """Groups, names and central products; with ``cache_dir`` the labels are kept there and reused."""
        path = self._path(vectors, cache_dir) if cache_dir is not None else None
        if path is not None and path.is_file():
            with np.load(path) as stored:
                labels, low_confidence, share = stored["labels"], stored["low_confidence"], float(stored["outlier_share"])
        else:
            labels, low_confidence, share = self.labels(vectors)
            if path is not None:
                buffer = io.BytesIO()
                np.savez(buffer, labels=labels, low_confidence=low_confidence, outlier_share=share)
                atomic_write_bytes(path, buffer.getvalue())
        return Clusters(labels, low_confidence, self.namer.name(texts, labels), central_products(vectors, labels), share)

    def stored(self, vectors: np.ndarray, texts: list[str], cache_dir: Path) -> Clusters | None:
        """The groups kept in ``cache_dir`` for these vectors, or None (nothing is computed)."""
        return self.fit(vectors, texts, cache_dir) if self._path(vectors, cache_dir).is_file() else None


def pipeline_for(method: str = "hdbscan", k: int | None = None, assign_outliers: bool = True, seed: int = 42) -> GroupingPipeline:
    """The default pipeline with HDBSCAN or k-means (``k`` groups).

    Raises:
        BadInputError: an unknown method.
    """
    if method not in METHODS:
        raise BadInputError(f"Unknown clustering method '{method}'; use one of {', '.join(METHODS)}.")
    clusterer = HDBSCANClusterer(seed=seed) if method == "hdbscan" else KMeansClusterer(k, seed)
    return GroupingPipeline(UMAPReducer(n_components=5, min_dist=0.0, seed=seed), clusterer, assign_outliers=assign_outliers)


def cluster_labels(vectors: np.ndarray, method: str = "hdbscan", k: int | None = None, assign_outliers: bool = True,
                   seed: int = 42) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, low_confidence, outlier share) of the default pipeline with ``method`` (see :class:`GroupingPipeline`)."""
    return pipeline_for(method, k, assign_outliers, seed).labels(vectors)


def cluster_products(vectors: np.ndarray, texts: list[str], method: str = "hdbscan", k: int | None = None,
                     assign_outliers: bool = True, cache_dir: Path | None = None) -> Clusters:
    """Groups, names and centres with the default pipeline (labels kept in ``cache_dir`` when given)."""
    return pipeline_for(method, k, assign_outliers).fit(vectors, texts, cache_dir)


def stored_clusters(vectors: np.ndarray, texts: list[str], cache_dir: Path, method: str = "hdbscan", k: int | None = None,
                    assign_outliers: bool = True) -> Clusters | None:
    """The default pipeline's groups kept in ``cache_dir`` for these vectors, or None (nothing is computed)."""
    return pipeline_for(method, k, assign_outliers).stored(vectors, texts, cache_dir)


def name_clusters(texts: list[str], labels: np.ndarray, top: int = 3) -> dict[int, str]:
    """Names each cluster by its most distinctive words (see :class:`prodsim.naming.ClassTfidfNamer`)."""
    return ClassTfidfNamer(top).name(texts, labels)


def split_group(vectors: np.ndarray, texts: list[str], k: int = 2, seed: int = 42) -> tuple[np.ndarray, dict[int, str]]:
    """Re-clusters one group's products into ``k`` parts, named by what distinguishes them from each other.

    k-means on the members' own vectors (a group is small and already one region of the
    map, so no UMAP step); names are the c-TF-IDF words of each part against its siblings.

    Returns:
        (part per member, part -> name).

    Raises:
        BadInputError: k below 2 or above the number of members, or members all alike.
    """
    from sklearn.cluster import KMeans

    if not 2 <= k <= len(vectors):
        raise BadInputError(f"A group of {len(vectors)} products can be split into 2 to {len(vectors)} parts; got {k}.")
    if np.allclose(vectors, vectors[0], atol=1e-6):
        raise BadInputError("Every product of this group looks the same, so there is nothing to split it by.")
    parts = KMeans(k, n_init=10, random_state=seed).fit_predict(vectors)
    return parts, name_clusters(texts, parts, top=2)
