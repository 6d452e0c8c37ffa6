"""The namer contract: a short name per group from its products' texts."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Namer(ABC):
    """Names groups; subclasses implement :meth:`name`."""

    @abstractmethod
    def name(self, texts: list[str], labels: np.ndarray) -> dict[int, str]:
        """Group number -> name, for every label >= 0 in ``labels`` (aligned with ``texts``)."""


class NumberedNames(Namer):
    """'group 1', 'group 2', ... (no text read; also a test seam)."""

    def name(self, texts: list[str], labels: np.ndarray) -> dict[int, str]:
        return {int(label): f"group {label + 1}" for label in sorted(set(labels[labels >= 0].tolist()))}
