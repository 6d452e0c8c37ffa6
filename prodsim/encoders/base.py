"""The encoder contract shared by text, image and multilingual encoders."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

Progress = Callable[[int, int], None]


class Encoder(ABC):
    """Maps items (texts, or photo bytes) to L2-normalised float32 vectors.

    Subclasses set ``modality`` ("text" or "image"), ``dim`` and ``fingerprint``, and
    implement :meth:`forward`. They may override :meth:`prepare` and :meth:`cost` so that
    :meth:`encode` can sort items by cost and batch similar ones together (little padding).
    Encoders on a runtime that runs several batches at once (ONNX Runtime, OpenVINO) set
    ``streams`` above 1 and override :meth:`forward_many`.
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
            done, step = 0, 2 * self.streams  # batches handed over at once, between progress reports
            for start in range(0, len(chunks), step):
                group = chunks[start:start + step]
                for chunk, vectors in zip(group, self.forward_many([[prepared[i] for i in chunk] for chunk in group])):
                    out[chunk] = vectors
                    done += len(chunk)
                if progress:
                    progress(done, len(order))
        return out[0] if single else out

    def forward_many(self, prepared_batches: list[list]) -> list[np.ndarray]:
        """Encodes several prepared batches (default: one after another with :meth:`forward`)."""
        return [self.forward(batch) for batch in prepared_batches]


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
