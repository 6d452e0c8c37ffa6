"""Compressed approximate top-k (FAISS IVF-PQ) for catalogs of millions of products.

Vectors are assigned to ``nlist`` coarse cells and stored as ``m`` one-byte codes each (384-d
float32: 1,536 bytes -> 48), so 5M products fit in about 250 MB. A query visits ``nprobe``
cells. Scores are approximate; the neighbour search re-scores the candidates exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prodsim.index.base import VectorIndex

TRAIN_PER_CELL = 64  # training vectors per coarse cell (FAISS warns below 39)
MAX_CELLS = 4096  # more cells make k-means training slower than the search gains on CPU


class IVFPQIndex(VectorIndex):
    """FAISS ``IVF{nlist},PQ{m}`` on inner product.

    Args:
        nlist: coarse cells (default about 4·sqrt(n), at most MAX_CELLS).
        m: bytes per vector (default d/8).
        nprobe: cells visited per query.
    """

    exact = False

    def __init__(self, nlist: int | None = None, m: int | None = None, nprobe: int = 32, seed: int = 0):
        self.nlist, self.m, self.nprobe, self.seed = nlist, m, nprobe, seed

    def fit(self, vectors: np.ndarray) -> IVFPQIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = vectors.shape
        nlist = self.nlist or int(min(max(4 * np.sqrt(n), 16), MAX_CELLS, n // TRAIN_PER_CELL or 1))
        m = self.m or max(d // 8, 1)
        self.index = faiss.index_factory(d, f"IVF{nlist},PQ{m}", faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.sort(np.random.default_rng(self.seed).choice(n, min(n, nlist * TRAIN_PER_CELL), replace=False))]
        self.index.train(sample)
        for start in range(0, n, 500_000):
            self.index.add(vectors[start:start + 500_000])
        faiss.extract_index_ivf(self.index).nprobe = self.nprobe
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, rows = self.index.search(queries, min(k, self.index.ntotal))
        return scores, rows.astype(np.int64)

    def save(self, path: Path) -> None:
        import faiss

        tmp = Path(path).with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, nprobe: int = 32) -> IVFPQIndex:
        import faiss

        index = cls(nprobe=nprobe)
        index.index = faiss.read_index(str(path))
        faiss.extract_index_ivf(index.index).nprobe = nprobe
        return index
