"""Exact top-k over all vectors: numpy for a few queries, FAISS's flat index for many."""

from __future__ import annotations

import numpy as np

from prodsim.index.base import VectorIndex

SMALL_BATCH = 256


class ExactIndex(VectorIndex):
    """Brute-force cosine top-k, exact."""

    def fit(self, vectors: np.ndarray) -> ExactIndex:
        """Keeps the (n, d) vectors (no copy when they are contiguous float32)."""
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._faiss = None
        return self

    @property
    def index(self):
        """FAISS's flat index over the vectors, built on first use (it holds a copy: 1.5 GB at 1M x 384)."""
        if self._faiss is None:
            import faiss

            self._faiss = faiss.IndexFlatIP(self.vectors.shape[1])
            self._faiss.add(self.vectors)
        return self._faiss

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows for each query (see VectorIndex.search).

        Up to SMALL_BATCH queries go through numpy (a matrix product and argpartition: measured
        6x faster than FAISS for 200 queries over 100k rows on this 2-core machine); larger
        batches, such as the all-pairs duplicate search, go through FAISS, whose per-query
        heaps beat argpartition over wide score blocks (35k x 35k: about 3x).
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, len(self.vectors))
        if len(queries) > SMALL_BATCH:
            scores, rows = self.index.search(queries, k)
            return scores, rows.astype(np.int64)
        similarity = queries @ self.vectors.T
        part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(similarity, part, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        return np.take_along_axis(values, order, axis=1), np.take_along_axis(part, order, axis=1).astype(np.int64)
