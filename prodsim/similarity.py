"""Hybrid similarity: dense vectors plus lexical views, with hubness correction.

The maths are plain functions over score matrices so that the index, the matcher, the
neighbours page and the duplicate finder all combine scores the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prodsim.lexical import VIEWS


@dataclass(frozen=True)
class HybridWeights:
    """How much each signal counts; the defaults serve any catalog (not tuned to one benchmark).

    Attributes:
        dense: the fused text (+ photo) vector cosine.
        char, word, code: the lexical views (see prodsim.lexical).
        hubness_k: neighbourhood size for the CSLS correction (0 turns it off). Some
            products are "hubs", close to everything (short generic titles); CSLS
            subtracts each side's mean similarity to its k nearest others.
        identifier, identifier_conflict: added to the score when two products share an identifier (GTIN, MPN,
            model number; see prodsim.identifiers), subtracted when both carry identifiers and none is shared.
            Outside the renormalised sum: a shared GTIN is evidence of another kind than similar wording. The
            conflict weighs less because shops fill these columns with codes of different schemes.
    """

    dense: float = 0.35
    char: float = 0.35
    word: float = 0.15
    code: float = 0.15
    hubness_k: int = 10
    identifier: float = 0.3
    identifier_conflict: float = 0.15

    def active(self, has_codes: bool) -> dict[str, float]:
        """Signal -> weight, renormalised to sum to 1 over the signals this catalog has."""
        weights = {"dense": self.dense, "char": self.char, "word": self.word, "code": self.code if has_codes else 0.0}
        total = sum(weights.values()) or 1.0
        return {name: w / total for name, w in weights.items()}


def combine(dense: np.ndarray, lexical: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of the dense score matrix and each lexical view (same shapes)."""
    total = weights["dense"] * dense
    for view in VIEWS:
        if weights.get(view):
            total = total + weights[view] * lexical[view]
    return total.astype(np.float32)


def identifier_term(agreement: np.ndarray, weights: HybridWeights) -> np.ndarray:
    """The identifier signal's share of the score: +identifier where shared, -identifier_conflict where they differ."""
    return np.where(agreement > 0, weights.identifier, np.where(agreement < 0, -weights.identifier_conflict, 0.0)).astype(np.float32)


def hubness(scores: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Mean of the k largest scores along ``axis`` (each row's or column's neighbourhood density)."""
    k = min(k, scores.shape[axis])
    return -np.partition(-scores, k - 1, axis=axis).take(range(k), axis=axis).mean(axis=axis)


def csls(scores: np.ndarray, k: int) -> np.ndarray:
    """Cross-domain similarity local scaling of a left x right score matrix: 2s - r_left - r_right."""
    if k <= 0:
        return scores
    return 2 * scores - hubness(scores, k, axis=1)[:, None] - hubness(scores, k, axis=0)[None, :]
