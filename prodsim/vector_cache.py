"""Vectors cached on disk by content, so nothing is embedded twice.

One folder per encoder fingerprint (model, weights version, precision, truncation) under
``<workspace>/vectors/``; each vector is keyed by the SHA-1 of what was encoded (the rendered
product text, or the photo's bytes). A changed row changes its key; an unchanged one is found
again, whatever its position or product id.

The store is append-only: every finished batch becomes one new chunk file (written to a
temporary name and renamed), so embedding n items writes O(n) bytes and a process killed
between batches keeps every finished one. Small chunks are merged level by level, as in a
log-structured merge tree (FANOUT chunks of one level become one chunk of the next), so a
folder holds a handful of files and each vector is rewritten about log_FANOUT(n / batch) times.
A cache written by an older prodsim (one ``<stem>.npz`` file) is read as the first chunk.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.workspace import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)
FANOUT = 16  # chunks of one level merged into one of the next


def text_key(text: str) -> str:
    """Cache key of a rendered product text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def array_key(array: np.ndarray, *settings: object, length: int = 20) -> str:
    """Cache key of results derived from an array (maps, groups, indexes): its shape, bytes and settings."""
    digest = hashlib.sha1(repr((array.shape, *settings)).encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:length]


def _chunk_bytes(keys: np.ndarray, vectors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, keys=keys.astype("S40"), vectors=vectors.astype(np.float32))
    return buffer.getvalue()


class VectorCache:
    """Content-keyed vectors of one encoder setting.

    Args:
        folder: the workspace's vectors folder.
        fingerprint: the encoder's fingerprint.
        dim: vector length.

    Attributes:
        migrated: True when this opened a cache in the older one-file format (now the first chunk).
        bytes_written: bytes this object wrote (chunks and merges), for tests and benchmarks.
    """

    def __init__(self, folder: Path, fingerprint: str, dim: int):
        self.fingerprint, self.dim = fingerprint, dim
        stem = hashlib.sha1(fingerprint.encode()).hexdigest()[:16]
        self.folder = folder / stem
        self.info_path = folder / f"{stem}.json"
        self.migrated, self.bytes_written = False, 0
        old = folder / f"{stem}.npz"
        if old.is_file():  # prodsim before the chunked store: that file becomes the first chunk
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(old, self.folder / f"chunk-0-{uuid.uuid4().hex}.npz")
                self.migrated = True
                log.info("vector cache %s converted to chunks (nothing re-embedded)", self.folder)
            except FileNotFoundError:
                pass  # another process converted it a moment ago
        self._keys: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        if self.folder.is_dir():
            from filelock import FileLock

            with FileLock(str(self.folder) + ".lock"):  # not while another process merges chunks
                for path in sorted(self.folder.glob("chunk-*.npz"), key=_written_at):
                    with np.load(path, allow_pickle=False) as stored:
                        self._keys.append(stored["keys"].astype("S40"))
                        self._vectors.append(stored["vectors"])
        self._index, self._added_since = None, set()
        self._lock = threading.RLock()  # one instance is shared by a server's threads (see open_cache)
        # (this instance, how many chunks it wrote): changes whenever what it holds changes, a key for counts
        self.generation = (uuid.uuid4().hex, 0)
        self._last = None  # (keys list, generation, answer) of the latest lookup
        self.listing = self._listing()

    def _listing(self) -> frozenset[str]:
        return frozenset(p.name for p in self.folder.glob("chunk-*.npz")) if self.folder.is_dir() else frozenset()

    def __len__(self) -> int:
        return len(self._lookup_index())

    def _lookup_index(self) -> pd.Index:
        """pandas Index over every stored key (first copy wins), rebuilt on the first lookup after adds."""
        if self._index is None or self._added_since:
            self._added_since = set()
            keys = _joined(self._keys, np.zeros(0, dtype="S40"))
            self._matrix = _joined(self._vectors, np.zeros((0, self.dim), np.float32))
            self._keys, self._vectors = [keys], [self._matrix]  # one copy in memory, not chunks plus their join
            index = pd.Index(keys)
            unique = ~index.duplicated()  # two processes may have stored the same content
            self._index, self._rows = index[unique], np.flatnonzero(unique)
        return self._index

    def lookup(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for ``keys``.

        Returns:
            (vectors (n, dim) float32 with zero rows where missing, found (n,) bool), both read-only. A list of
            keys must not be changed in place after it was looked up (the answer for it is kept).
        """
        with self._lock:
            # Pages, the similarity model and the grouping ask for the same catalog's keys (one list object per
            # catalog version): they share one read-only answer instead of a copy each (1.5 GB at 1M x 384).
            # The memo holds the list itself, so "the same list" is an identity test no other list can pass.
            if self._last is not None and self._last[0] is keys and self._last[1] == self.generation:
                return self._last[2]
            positions = self._lookup_index().get_indexer(np.asarray(keys, dtype="S40"))
            found = positions >= 0
            if found.all():
                rows = self._rows[positions]
                if len(rows) == len(self._matrix) and (rows == np.arange(len(rows))).all():
                    out = self._matrix.view()  # the store in the asked order: no copy (every fresh GB costs seconds)
                else:
                    out = self._matrix[rows]
            else:
                out = np.zeros((len(keys), self.dim), dtype=np.float32)
                out[found] = self._matrix[self._rows[positions[found]]]
            out.setflags(write=False)
            found.setflags(write=False)
            self._last = (keys, self.generation, (out, found))
        return out, found

    def contains(self, keys: list[str]) -> np.ndarray:
        """Whether each key is stored (no vectors copied: counting a million products stays cheap)."""
        with self._lock:
            return self._lookup_index().get_indexer(np.asarray(keys, dtype="S40")) >= 0

    def add(self, keys: list[str], vectors: np.ndarray) -> None:
        """Stores the vectors of keys not stored yet as one new chunk (a cancelled run keeps what was saved)."""
        with self._lock:
            self._add(np.asarray(keys, dtype="S40"), vectors)

    def _add(self, keys_array: np.ndarray, vectors: np.ndarray) -> None:
        # Filtered against the index of the last lookup and the keys added since, so a run of adds
        # does not rebuild the index (an O(n) copy) after every batch.
        index = self._index if self._index is not None else self._lookup_index()
        new = (index.get_indexer(keys_array) < 0) & ~pd.Index(keys_array).duplicated()
        new &= np.array([key not in self._added_since for key in keys_array.tolist()], dtype=bool)
        if not new.any():
            return
        self._write(keys_array[new], np.asarray(vectors, dtype=np.float32)[new], level=0)
        self._merge()
        self.listing = self._listing()
        atomic_write_json(self.info_path, {"fingerprint": self.fingerprint, "dim": self.dim, "count": len(self)})

    def _write(self, keys: np.ndarray, vectors: np.ndarray, level: int) -> Path:
        data = _chunk_bytes(keys, vectors)
        path = self.folder / _chunk_name(level, time.time_ns())
        atomic_write_bytes(path, data)
        self.bytes_written += len(data)
        self._keys.append(keys)
        self._vectors.append(vectors)
        self._added_since.update(keys.tolist())
        self.generation = (self.generation[0], self.generation[1] + 1)
        return path

    def _merge(self) -> None:
        """Merges FANOUT chunks of a level into one of the next, level by level (under a lock: other processes add too)."""
        from filelock import FileLock

        with FileLock(str(self.folder) + ".lock"):
            level = 0
            while True:
                chunks = sorted(self.folder.glob(f"chunk-{level}-*.npz"), key=_written_at)
                if len(chunks) < FANOUT:
                    return
                keys, vectors = [], []
                for path in chunks:
                    with np.load(path, allow_pickle=False) as stored:
                        keys.append(stored["keys"].astype("S40"))
                        vectors.append(stored["vectors"])
                data = _chunk_bytes(np.concatenate(keys), np.concatenate(vectors))
                atomic_write_bytes(self.folder / _chunk_name(level + 1, _written_at(chunks[0])), data)
                self.bytes_written += len(data)
                for path in chunks:  # the merged chunk is in place first: a crash here leaves duplicates, never a gap
                    path.unlink()
                level += 1



_OPEN: dict[tuple[str, str], VectorCache] = {}
_OPEN_LOCK = threading.Lock()
MAX_OPEN = 8


def _joined(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    """One array of the parts (the part itself when there is one: no copy)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else empty


def _chunk_name(level: int, written_at: int) -> str:
    """Chunks carry when their first vector was written, so reading them in that order keeps the order items were
    added in (a catalog read in product order is then looked up without a copy)."""
    return f"chunk-{level}-{written_at:020d}-{uuid.uuid4().hex}.npz"


def _written_at(path: Path) -> int:
    parts = path.stem.split("-")
    return int(parts[2]) if len(parts) == 4 else 0  # chunks named before this order was kept come first


def open_cache(folder: Path, fingerprint: str, dim: int) -> VectorCache:
    """The process's shared :class:`VectorCache` for a folder and encoder, read again only when its chunk files changed.

    A page that counts what is read, the background reading and the similarity model then
    share one copy of the vectors instead of reading every chunk on every rerun.
    """
    key = (str(folder), fingerprint)
    with _OPEN_LOCK:
        cache = _OPEN.get(key)
        stem = hashlib.sha1(fingerprint.encode()).hexdigest()[:16]
        current = frozenset(p.name for p in (folder / stem).glob("chunk-*.npz")) if (folder / stem).is_dir() else frozenset()
        if cache is None or cache.listing != current or (folder / f"{stem}.npz").is_file():
            if len(_OPEN) >= MAX_OPEN:
                _OPEN.pop(next(iter(_OPEN)))
            cache = _OPEN[key] = VectorCache(folder, fingerprint, dim)
        return cache
