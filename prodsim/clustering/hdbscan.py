"""HDBSCAN as a clusterer (cuML's on a GPU), on a sample above CLUSTER_SAMPLE products."""

from __future__ import annotations

import numpy as np

from prodsim.clustering.base import Clusterer

CLUSTER_SAMPLE = 20_000  # products HDBSCAN fits on; the rest join their nearest sampled product's group
LARGEST_GROUP_SHARE = 1 / 3  # a group above this share of the catalog is split into its parts when it has some


class HDBSCANClusterer(Clusterer):
    """Density-based groups; the number of groups is found, not given.

    Minimum group size and neighbourhood are both sqrt(n) (sqrt of the sample above
    CLUSTER_SAMPLE): 32 products of 1,050, 100 of 10,000, so a first review has a handful to tens of
    groups, not hundreds. min_samples = sqrt(n) rather than a fixed 5 makes density estimates as
    coarse as the groups wanted. NMI against true categories: Flipkart 0.752 vs 0.743, 10k
    PriceRunner titles 0.758 vs 0.696, the demo catalog 0.583 vs 0.571.

    HDBSCAN keeps a parent group when it is more stable than its parts together, which on some maps
    keeps one group of most of the catalog (895 of Flipkart's 1,050 products with four-word names, 140 of the
    demo's 244, at some UMAP seeds). A group above ``largest_share`` of the products is therefore
    replaced by the parts HDBSCAN's tree has below it; a group with no parts stays whole (HDBSCAN's own
    size limit would drop it to outliers). See the README's grouping section for the figures.

    Above ``sample`` products HDBSCAN sees a random sample and every other product takes the group
    of its nearest sampled product. PriceRunner's 35k titles, NMI of the non-outliers: all 0.777 (9
    groups); 20k-sample 0.780 and 0.778 over two seeds (9 groups); scaling the minimum size to the
    sample's share instead split groups unstably (14-17 groups, 0.735-0.809).
    """

    def __init__(self, sample: int = CLUSTER_SAMPLE, seed: int = 42, largest_share: float = LARGEST_GROUP_SHARE):
        self.sample, self.seed, self.largest_share = sample, seed, largest_share

    def fit_predict(self, reduced: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        n = len(reduced)
        rows = np.arange(n) if n <= self.sample else np.sort(np.random.default_rng(self.seed).choice(n, self.sample, replace=False))
        labels = self._fit(reduced[rows])
        return labels if len(rows) == n else labels[cKDTree(reduced[rows]).query(reduced, k=1)[1]]

    def _fit(self, points: np.ndarray) -> np.ndarray:
        from prodsim.accelerated import hdbscan_clusterer

        size = max(5, int(round(np.sqrt(len(points)))))
        labels = np.asarray(hdbscan_clusterer(min_cluster_size=size, min_samples=size).fit_predict(points)).astype(np.int64)
        limit = int(self.largest_share * len(points))
        if labels.max() < 0 or np.bincount(labels[labels >= 0]).max() <= limit:
            return labels
        parts = np.asarray(hdbscan_clusterer(min_cluster_size=size, min_samples=size, max_cluster_size=limit)
                           .fit_predict(points)).astype(np.int64)
        return keep_groups_without_parts(labels, parts)

    def settings(self) -> tuple:
        return ("hdbscan", self.sample, self.seed, self.largest_share)


def keep_groups_without_parts(whole: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``parts`` (groups found under a size limit), except that a group of ``whole`` in which the limit found fewer
    than two parts (it had none to split into, so its products were left out) comes back whole.

    Returns labels numbered 0..k-1, -1 for outliers.
    """
    labels = parts.copy()
    for group in np.unique(whole[whole >= 0]):
        members = whole == group
        if len(np.unique(parts[members & (parts >= 0)])) < 2:
            labels[members] = labels.max() + 1
    grouped = labels >= 0
    labels[grouped] = np.unique(labels[grouped], return_inverse=True)[1]
    return labels
