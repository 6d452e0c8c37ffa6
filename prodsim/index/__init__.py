"""Top-k search over product vectors: exact for ordinary catalogs, approximate (HNSW) for very large ones."""

from __future__ import annotations

from prodsim.index.base import VectorIndex
from prodsim.index.exact import ExactIndex

EXACT_LIMIT = 200_000  # above this many products, an approximate index answers first


def build_index(vectors, exact_limit: int = EXACT_LIMIT) -> VectorIndex:
    """Exact search up to ``exact_limit`` rows, else a FAISS HNSW index."""
    if len(vectors) <= exact_limit:
        return ExactIndex().fit(vectors)
    from prodsim.index.hnsw import HNSWIndex

    return HNSWIndex().fit(vectors)


__all__ = ["EXACT_LIMIT", "ExactIndex", "VectorIndex", "build_index"]
