"""What the approximate indexes share: one FAISS object that answers queries and lives in one file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prodsim.index.base import VectorIndex


class FaissIndex(VectorIndex):
    """An approximate index held in ``self.index``; subclasses build it in ``fit`` and set search knobs in ``tune``."""

    exact = False

    def tune(self) -> None:
        """Applies the search-time settings (efSearch, nprobe) to ``self.index``."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k rows for each query."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, rows = self.index.search(queries, min(k, self.index.ntotal))
        return scores, rows.astype(np.int64)

    def save(self, path: Path) -> None:
        """Writes the index to ``path`` (through a temporary file)."""
        import faiss

        tmp = Path(path).with_suffix(".tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, **settings) -> FaissIndex:
        """Reads an index written by :meth:`save`; ``settings`` as the constructor takes them."""
        import faiss

        index = cls(**settings)
        index.index = faiss.read_index(str(path))
        index.tune()
        return index
