"""Top-k search over product vectors: exact for ordinary catalogs, approximate (HNSW) for very large ones."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from prodsim.index.base import VectorIndex
from prodsim.index.exact import ExactIndex
from prodsim.vector_cache import array_key

EXACT_LIMIT = 200_000  # above this many products, an approximate index answers once it is built


class BackgroundIndex(VectorIndex):
    """Exact answers at once; an HNSW graph built in a background thread takes over when ready.

    The graph is saved under ``folder`` keyed by the vectors' content, so a restarted app (or
    another session on the same workspace) reads it instead of building it again.

    Args:
        folder: where graphs are kept (None = not saved).
    """

    def __init__(self, folder: Path | None = None):
        self.folder = folder
        self.approximate: VectorIndex | None = None
        self.built = threading.Event()

    @property
    def exact(self) -> bool:
        return self.approximate is None

    def fit(self, vectors: np.ndarray) -> BackgroundIndex:
        """Indexes exactly now and starts the graph (or reads a saved one)."""
        from prodsim.index.hnsw import HNSWIndex

        self.fallback = ExactIndex().fit(vectors)
        path = self.folder / f"hnsw-{array_key(vectors)}.faiss" if self.folder else None
        if path is not None and path.is_file():
            self.approximate = HNSWIndex.load(path)
            self.built.set()
            return self

        def build() -> None:
            graph = HNSWIndex().fit(vectors)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                graph.save(path)
            self.approximate = graph
            self.built.set()

        threading.Thread(target=build, name="prodsim-hnsw", daemon=True).start()
        return self

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows for each query from the graph once built, exact until then."""
        return (self.approximate or self.fallback).search(queries, k)


def build_index(vectors, exact_limit: int = EXACT_LIMIT, folder: Path | None = None) -> VectorIndex:
    """Exact search up to ``exact_limit`` rows; above, a :class:`BackgroundIndex` (saved under ``folder``)."""
    if len(vectors) <= exact_limit:
        return ExactIndex().fit(vectors)
    return BackgroundIndex(folder).fit(vectors)


__all__ = ["EXACT_LIMIT", "BackgroundIndex", "ExactIndex", "VectorIndex", "build_index"]
