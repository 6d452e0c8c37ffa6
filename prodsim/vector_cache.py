"""Vectors cached on disk by content, so nothing is embedded twice.

One file per encoder fingerprint (model, weights version, precision, truncation) under
``<workspace>/vectors/``; inside it, each vector is keyed by the SHA-1 of what was encoded
(the rendered product text, or the photo's bytes). A changed row changes its key; an
unchanged one is found again, whatever its position or product id.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from prodsim.workspace import atomic_write_bytes, atomic_write_json


def text_key(text: str) -> str:
    """Cache key of a rendered product text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def array_key(array: np.ndarray, *settings: object, length: int = 20) -> str:
    """Cache key of results derived from an array (maps, groups, indexes): its shape, bytes and settings."""
    digest = hashlib.sha1(repr((array.shape, *settings)).encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:length]


class VectorCache:
    """Content-keyed vectors of one encoder setting.

    Args:
        folder: the workspace's vectors folder.
        fingerprint: the encoder's fingerprint.
        dim: vector length.
    """

    def __init__(self, folder: Path, fingerprint: str, dim: int):
        self.fingerprint, self.dim = fingerprint, dim
        stem = hashlib.sha1(fingerprint.encode()).hexdigest()[:16]
        self.path = folder / f"{stem}.npz"
        self.info_path = folder / f"{stem}.json"
        self._rows: dict[str, int] = {}
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as stored:
                keys, self._vectors = stored["keys"], stored["vectors"]
            self._rows = {str(k): i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for ``keys``.

        Returns:
            (vectors (n, dim) float32 with zero rows where missing, found (n,) bool).
        """
        rows = np.array([self._rows.get(k, -1) for k in keys], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        out[found] = self._vectors[rows[found]]
        return out, found

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Stores new vectors and writes the file atomically (a cancelled run keeps what was saved)."""
        new = [(k, v) for k, v in zip(keys, vectors) if k not in self._rows]
        if not new:
            return
        start = len(self._vectors)
        self._vectors = np.concatenate([self._vectors, np.stack([v for _, v in new]).astype(np.float32)])
        for offset, (key, _) in enumerate(new):
            self._rows[key] = start + offset
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.array(list(self._rows), dtype="U40"), vectors=self._vectors)
        atomic_write_bytes(self.path, buffer.getvalue())
        atomic_write_json(self.info_path, {"fingerprint": self.fingerprint, "dim": self.dim, "count": len(self._rows)})

