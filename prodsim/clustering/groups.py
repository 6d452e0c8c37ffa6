"""Suggested groups as a result: names, sizes and central products, agreement with a category column, misfiled products."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError


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
