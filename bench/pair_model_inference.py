"""How fast a pair model judges a catalog's candidate pairs: float32 inference against the float64 reference.

Usage: python bench/pair_model_inference.py [--pairs N]
The Duplicates page and `match`'s second stage run ``PairModel.probability`` / ``ranking_score`` over every candidate
pair (millions at a million products). Timed here on N feature rows for the shipped default (linear) and for an MLP
cross-fitted as "Learn from my decisions" fits one (five members), each against the same members run in float64 in
this process, with the largest difference in calibrated probability and how many pairs change side of the threshold.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, report

from prodsim.training.pair_model import FEATURES, PairModel, _forward, cross_fit_pair_model


def float64_reference(model: PairModel, features: np.ndarray) -> np.ndarray:
    """The calibrated probability with every array in float64 (how it was computed before)."""
    scaled = (features.astype(np.float64) - model.mean) / model.scale
    raw = np.mean([_forward(scaled, weights, biases) for weights, biases in model.members], axis=0)
    return np.interp(raw, model.calibration_x, model.calibration_y)


def timed(function, *args) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(args.pairs, len(FEATURES))).astype(np.float32)
    training = rng.normal(size=(4000, len(FEATURES)))
    labels = (training[:, 0] + 0.5 * rng.normal(size=len(training)) > 0.8).astype(int)
    models = {"default_linear": PairModel.default(), "cross_fitted_mlp": cross_fit_pair_model(training, labels)[0]}
    results = {}
    for name, model in models.items():
        reference_seconds, reference = timed(float64_reference, model, features)
        seconds, probability = timed(model.probability, features)
        results[name] = {"members": len(model.members), "float64_seconds": round(reference_seconds, 3),
                         "float32_seconds": round(seconds, 3), "speedup": round(reference_seconds / seconds, 1),
                         "largest_difference": float(np.abs(probability - reference).max()),
                         "pairs_changing_side": int(((probability >= model.threshold) != (reference >= model.threshold)).sum())}
        print(name, results[name], flush=True)
    report({"bench": "pair_model_inference", "machine": machine("cpu"), "pairs": args.pairs, "results": results})


if __name__ == "__main__":
    main()
