"""The encoder contract shared by text, image and multilingual encoders."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

Progress = Callable[[int, int], None]


class Encoder(ABC):
    """Maps items (texts, or photo bytes) to L2-normalised float32 vectors.

    Subclasses set ``modality`` ("text" or "image"), ``dim`` and ``fingerprint``, and
    implement :meth:`forward`. They may override :meth:`prepare` and :meth:`cost` so that
    :meth:`encode` can sort items by cost and batch similar ones together (little padding).
    Encoders whose :meth:`forward` releases the GIL (ONNX Runtime, OpenVINO) set ``streams``
    above 1, and that many batches then run at once.
    """

    modality: str
    dim: int
    similarity_fn_name = "cosine"
    default_batch_size = 64
    device = "cpu"
    precision = "fp32"
    runtime = "torch"
    streams = 1

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the weights, version and numeric settings; keys the vector cache."""

    @property
    def label(self) -> str:
        """Short name for people, e.g. 'MiniLM-L6'."""
        return self.fingerprint.split("|")[0]

    def prepare(self, items: list) -> list:
        """Turns raw items into model inputs (e.g. token ids); default: unchanged."""
        return items

    def cost(self, prepared_item) -> int:
        """Relative cost of one prepared item, used to sort batches; default: equal."""
        return 0

    @abstractmethod
    def forward(self, prepared_batch: list) -> np.ndarray:
        """Encodes one batch of prepared items.

        Returns:
            float32 array of shape (len(prepared_batch), dim), rows L2-normalised.
        """

    def encode(self, items, batch_size: int | None = None, progress: Progress | None = None) -> np.ndarray:
        """Encodes one item or a list of items.

        Items are sorted by :meth:`cost`, longest first, batched, and returned in the
        original order.

        Returns:
            (dim,) for a single item, else (n, dim) float32, rows of unit length.
        """
        single = isinstance(items, (str, bytes))
        batch_items: Sequence = [items] if single else list(items)
        batch_size = batch_size or self.default_batch_size
        out = np.zeros((len(batch_items), self.dim), dtype=np.float32)
        if batch_items:
            prepared = self.prepare(list(batch_items))
            order = np.argsort([-self.cost(p) for p in prepared], kind="stable")
            chunks = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
            run = lambda chunk: self.forward([prepared[i] for i in chunk])  # noqa: E731
            pool = ThreadPoolExecutor(self.streams) if self.streams > 1 and len(chunks) > 1 else None
            try:
                done = 0
                for chunk, vectors in zip(chunks, pool.map(run, chunks) if pool else map(run, chunks)):
                    out[chunk] = vectors
                    done += len(chunk)
                    if progress:
                        progress(done, len(order))
            finally:
                if pool:
                    pool.shutdown()
        return out[0] if single else out


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
