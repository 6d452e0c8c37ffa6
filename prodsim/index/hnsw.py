"""Approximate top-k with a FAISS HNSW graph, for catalogs too large for exact search per query."""

from __future__ import annotations

import numpy as np

from prodsim.index.faiss_file import FaissIndex


class HNSWIndex(FaissIndex):
    """FAISS ``IndexHNSWFlat`` on inner product.

    Args:
        neighbours: graph degree (M); more is more accurate and larger.
        ef_search: candidates explored per query; raise for recall, lower for speed.
    """

    def __init__(self, neighbours: int = 32, ef_construction: int = 80, ef_search: int = 128):
        self.neighbours, self.ef_construction, self.ef_search = neighbours, ef_construction, ef_search

    def fit(self, vectors: np.ndarray) -> HNSWIndex:
        """Builds the graph over (n, d) unit rows."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], self.neighbours, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.ef_construction
        self.index.add(vectors)
        self.tune()
        return self

    def tune(self) -> None:
        self.index.hnsw.efSearch = self.ef_search
