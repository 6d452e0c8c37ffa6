"""Suggested categories: clustering product vectors, naming the clusters, finding misfiled products."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.projection import MIN_PRODUCTS, ProjectionConfig, umap_project
from prodsim.vector_cache import array_key
from prodsim.workspace import atomic_write_bytes

METHODS = ("hdbscan", "kmeans")
CLUSTER_SAMPLE = 20_000  # products HDBSCAN fits on; the rest join their nearest sampled product's group


@dataclass
class Clusters:
    """A clustering of products.

    Attributes:
        labels: (n,) cluster number per product (never -1 when outliers were assigned).
        low_confidence: (n,) True for products HDBSCAN left out and that were put in the nearest cluster.
        names: cluster number -> short name from its distinctive words.
        central: cluster number -> row of its most central product.
        outlier_share: share of products HDBSCAN could not place (before assignment).
    """

    labels: np.ndarray
    low_confidence: np.ndarray
    names: dict[int, str]
    central: dict[int, int]
    outlier_share: float

    def suggested(self) -> pd.Series:
        """The suggested group name of each product."""
        names = np.array([self.names.get(label, "") for label in range(int(self.labels.max()) + 1)], dtype=object)
        return pd.Series(names[self.labels])

    def summary(self, products: pd.DataFrame, vectors: np.ndarray) -> pd.DataFrame:
        """One row per cluster: name, size, cohesion (mean cosine to the centroid), central product title.

        The mean cosine of unit vectors to their normalised centroid is the length of their sum divided
        by their count, so one sparse product gives every cluster's figure without copying its members.
        """
        from scipy import sparse

        k = int(self.labels.max()) + 1
        membership = sparse.csr_matrix((np.ones(len(self.labels), np.float32), (self.labels, np.arange(len(self.labels)))),
                                       shape=(k, len(self.labels)))
        sizes = np.bincount(self.labels, minlength=k)
        cohesion = np.linalg.norm(membership @ vectors, axis=1) / np.maximum(sizes, 1)
        rows = [{"cluster": label, "name": self.names[label], "size": int(sizes[label]), "cohesion": float(cohesion[label]),
                 "central_product": products["title"].iloc[self.central[label]]} for label in sorted(self.names)]
        return pd.DataFrame(rows).sort_values("size", ascending=False).reset_index(drop=True)


def _validate(vectors: np.ndarray, method: str, k: int | None) -> None:
    if method not in METHODS:
        raise BadInputError(f"Unknown clustering method '{method}'; use one of {', '.join(METHODS)}.")
    if len(vectors) < MIN_PRODUCTS:
        raise BadInputError(f"Grouping needs at least {MIN_PRODUCTS} products; this catalog has {len(vectors)}.")
    if method == "kmeans" and (k is None or not 2 <= k <= len(vectors)):
        raise BadInputError(f"k-means needs a number of groups between 2 and the number of products ({len(vectors)}); got {k}.")


def cluster_labels(vectors: np.ndarray, method: str = "hdbscan", k: int | None = None, assign_outliers: bool = True,
                   seed: int = 42) -> tuple[np.ndarray, np.ndarray, float]:
    """Clusters unit vectors on a 5-d UMAP of them.

    HDBSCAN finds the number of groups itself (minimum group size and neighbourhood both
    sqrt(n): 32 products of 1,050, 100 of 10,000, so a first review has a handful to tens of
    groups, not hundreds); its
    outliers are, by default, put in the nearest group and flagged as low confidence, so
    that few products stay unplaced. k-means uses the given ``k``.

    Returns:
        (labels, low_confidence, outlier_share before assignment).

    Raises:
        BadInputError: unknown method, too few products, bad k, or identical vectors.
    """
    _validate(vectors, method, k)
    reduced = umap_project(vectors, ProjectionConfig(n_components=5, min_dist=0.0, seed=seed))
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=10, random_state=seed).fit_predict(reduced), np.zeros(len(vectors), dtype=bool), 0.0
    from scipy.spatial import cKDTree

    from prodsim.accelerated import hdbscan_clusterer

    # min_samples = sqrt(n) rather than a fixed 5 makes density estimates as coarse as the groups
    # wanted. NMI against true categories: Flipkart 0.752 vs 0.743 (and 0.747-0.752 over UMAP
    # seeds, where min_samples=5 or a larger min_cluster_size swing 0.72-0.78), 10k PriceRunner
    # titles 0.758 vs 0.696, the demo catalog 0.583 vs 0.571.
    n = len(vectors)
    sample = np.arange(n) if n <= CLUSTER_SAMPLE else np.sort(np.random.default_rng(seed).choice(n, CLUSTER_SAMPLE, replace=False))
    # Above CLUSTER_SAMPLE products HDBSCAN sees a random sample (minimum size sqrt of the sample), and every
    # other product takes the group of its nearest sampled product in the reduced space. PriceRunner's 35k
    # titles, NMI of the non-outliers: full 0.777 (9 groups); 20k-sample 0.780 and 0.778 over two seeds (9 groups);
    # scaling the minimum size to the sample's share instead split groups unstably (14-17 groups, 0.735-0.809).
    min_size = max(5, int(round(np.sqrt(len(sample)))))
    sampled_labels = np.asarray(hdbscan_clusterer(min_cluster_size=min_size, min_samples=min_size).fit_predict(reduced[sample]))
    labels = sampled_labels if len(sample) == n else sampled_labels[cKDTree(reduced[sample]).query(reduced, k=1)[1]]
    outliers = labels < 0
    share = float(outliers.mean())
    if labels.max() < 0:
        labels = np.zeros(n, dtype=int)
    elif assign_outliers and outliers.any():
        centroids = np.stack([reduced[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
        labels[outliers] = cKDTree(centroids).query(reduced[outliers], k=1)[1]
    return labels, outliers & assign_outliers, share


def name_clusters(texts: list[str], labels: np.ndarray, top: int = 3) -> dict[int, str]:
    """Names each cluster by its most distinctive words (class-based TF-IDF, as in BERTopic)."""
    from sklearn.feature_extraction.text import CountVectorizer

    clusters = sorted(set(labels[labels >= 0].tolist()))
    documents = [" ".join(t for t, label in zip(texts, labels, strict=True) if label == c) for c in clusters]
    counter = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", max_features=50_000)
    counts = counter.fit_transform(documents).toarray().astype(float)
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average_words = counts.sum() / max(len(clusters), 1)
    idf = np.log(1 + average_words / np.maximum(counts.sum(axis=0), 1))
    if len(clusters) >= 4:
        # A word found in most groups ("free delivery", "genuine" in sellers' copy) names none of them.
        idf[(counts > 0).mean(axis=0) > 0.5] = 0.0
    words = counter.get_feature_names_out()
    names = {}
    for row, cluster in enumerate(clusters):
        best = np.argsort(-(frequency[row] * idf), kind="stable")[:top]
        names[cluster] = " · ".join(words[best]) or f"group {cluster + 1}"
    return names


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


def central_products(vectors: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Cluster -> row of the product closest to the cluster's centroid (one pass over the vectors)."""
    from scipy import sparse

    clusters = sorted(set(labels[labels >= 0].tolist()))
    if not clusters:
        return {}
    known = np.flatnonzero(labels >= 0)
    k = int(labels.max()) + 1
    membership = sparse.csr_matrix((np.ones(len(known), np.float32), (labels[known], known)), shape=(k, len(labels)))
    centroids = np.asarray(membership @ vectors)
    closeness = np.full(len(labels), -np.inf, dtype=np.float32)
    blocks = np.array_split(known, max(1, -(-len(known) // 200_000)))  # bounded memory: no (n, d) centroid copy at once
    closeness[known] = np.concatenate([np.einsum("ij,ij->i", vectors[b], centroids[labels[b]]) for b in blocks])
    best = pd.Series(closeness[known], index=known).groupby(labels[known]).idxmax()
    return {int(cluster): int(row) for cluster, row in best.items()}


def stored_clusters(vectors: np.ndarray, texts: list[str], cache_dir: Path, method: str = "hdbscan", k: int | None = None,
                    assign_outliers: bool = True) -> Clusters | None:
    """The clusters kept in ``cache_dir`` for these vectors and settings, or None (nothing is computed)."""
    if not (cache_dir / f"{array_key(vectors, method, k, assign_outliers)}.npz").is_file():
        return None
    return cluster_products(vectors, texts, method, k, assign_outliers, cache_dir)


def cluster_products(vectors: np.ndarray, texts: list[str], method: str = "hdbscan", k: int | None = None,
                     assign_outliers: bool = True, cache_dir: Path | None = None) -> Clusters:
    """Clusters, names and centres in one call (see :func:`cluster_labels`).

    With ``cache_dir``, the labels are stored there by (vectors, method, k) and reused.
    """
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{array_key(vectors, method, k, assign_outliers)}.npz"
    if path is not None and path.is_file():
        with np.load(path) as stored:
            labels, low_confidence, share = stored["labels"], stored["low_confidence"], float(stored["outlier_share"])
    else:
        labels, low_confidence, share = cluster_labels(vectors, method, k, assign_outliers)
        if path is not None:
            buffer = io.BytesIO()
            np.savez(buffer, labels=labels, low_confidence=low_confidence, outlier_share=share)
            atomic_write_bytes(path, buffer.getvalue())
    return Clusters(labels, low_confidence, name_clusters(texts, labels), central_products(vectors, labels), share)


def agreement(labels: np.ndarray, truth: pd.Series) -> dict[str, float]:
    """ARI and NMI of clusters against an existing category column (rows with no category are ignored).

    Raises:
        BadInputError: the column is empty or has a single value.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    truth = truth.fillna("").astype(str).to_numpy()
    known = truth != ""
    if known.sum() == 0 or len(set(truth[known])) < 2:
        raise BadInputError("The category column is empty or holds a single value, so clusters cannot be compared with it.")
    return {"ari": float(adjusted_rand_score(truth[known], labels[known])),
            "nmi": float(normalized_mutual_info_score(truth[known], labels[known]))}


def misfiled_products(vectors: np.ndarray, categories: pd.Series, k: int = 10, progress=None) -> pd.DataFrame:
    """Products whose nearest neighbours mostly carry another category.

    Every product's ``k`` nearest come from one batch search (exact up to 20k products, an
    HNSW graph above), and the votes are summed in one sparse matrix, so 100k products take
    seconds, not an n x n comparison.

    Returns:
        Rows ``row, category, suggested, confidence`` (share of similarity-weighted neighbour
        votes for the suggested category), most confident first.
    """
    from scipy import sparse

    from prodsim.index import nearest_neighbours

    codes, names = pd.factorize(categories.fillna("").astype(str).reset_index(drop=True))
    empty = int(np.flatnonzero(names == "")[0]) if (names == "").any() else -1
    scores, rows = nearest_neighbours(vectors, k, progress=progress)
    valid = (rows >= 0) & (codes[np.maximum(rows, 0)] != empty)
    weights = np.where(valid, np.maximum(scores, 0), 0.0).ravel()
    votes = sparse.csr_matrix((weights, (np.repeat(np.arange(len(vectors)), rows.shape[1]), codes[np.maximum(rows, 0)].ravel())),
                              shape=(len(vectors), len(names)))
    best = np.asarray(votes.argmax(axis=1)).ravel()
    total = np.asarray(votes.sum(axis=1)).ravel()
    top = np.asarray(votes.max(axis=1).toarray()).ravel()
    flagged = np.flatnonzero((codes != empty) & (total > 0) & (best != codes))
    found = pd.DataFrame({"row": flagged, "category": names[codes[flagged]], "suggested": names[best[flagged]],
                          "confidence": top[flagged] / total[flagged]})
    return found.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)
