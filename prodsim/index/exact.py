"""Exact top-k over all vectors (FAISS flat index: blocked BLAS products with a heap per query)."""

from __future__ import annotations

import numpy as np

from prodsim.index.base import VectorIndex


class ExactIndex(VectorIndex):
    """Brute-force cosine top-k: FAISS's flat inner-product index (BLAS blocks and heaps), exact."""

    def fit(self, vectors: np.ndarray) -> ExactIndex:
        """Keeps the (n, d) vectors."""
        import faiss

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        self.index.add(self.vectors)
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows for each query (see VectorIndex.search)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, rows = self.index.search(queries, min(k, len(self.vectors)))
        return scores, rows.astype(np.int64)
