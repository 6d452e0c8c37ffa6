"""Approximate top-k with a FAISS HNSW graph, for catalogs too large for exact search per query."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prodsim.index.base import VectorIndex


class HNSWIndex(VectorIndex):
    """FAISS ``IndexHNSWFlat`` on inner product.

    Args:
        neighbours: graph degree (M); more is more accurate and larger.
        ef_search: candidates explored per query; raise for recall, lower for speed.
    """

    exact = False

    def __init__(self, neighbours: int = 32, ef_construction: int = 80, ef_search: int = 128):
        self.neighbours, self.ef_construction, self.ef_search = neighbours, ef_construction, ef_search

    def fit(self, vectors: np.ndarray) -> HNSWIndex:
        """Builds the graph over (n, d) unit rows."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], self.neighbours, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = self.ef_construction
        self.index.add(vectors)
        self.index.hnsw.efSearch = self.ef_search
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k rows for each query."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self.index.ntotal)
        scores, rows = self.index.search(queries, k)
        return scores, rows.astype(np.int64)

    def save(self, path: Path) -> None:
        """Writes the graph to ``path`` (through a temporary file)."""
        import faiss

        tmp = path.with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, ef_search: int = 128) -> HNSWIndex:
        """Reads a graph written by :meth:`save`."""
        import faiss

        index = cls(ef_search=ef_search)
        index.index = faiss.read_index(str(path))
        index.index.hnsw.efSearch = ef_search
        return index
