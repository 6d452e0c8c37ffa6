"""Seconds to a first map: prodsim's sampled UMAP against plain umap.UMAP().fit_transform.

Usage: python bench/projection.py [--sizes 10000 50000 100000] [--pricerunner]
Both run in this process (numba compiled once beforehand, so neither pays for it). The
neighbourhood figure is sklearn's trustworthiness (k=10) on a 5,000-point sample. Vectors are
clustered 384-d (see bench/knn.py); with --pricerunner also PriceRunner's 35k real titles.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import DATASETS, machine, peak_rss_mb, report
from knn import clustered

from prodsim.clustering import cluster_labels
from prodsim.projection import ProjectionConfig, umap_project, warm_up


def trust(vectors: np.ndarray, coordinates: np.ndarray, seed: int = 0) -> float:
    from sklearn.manifold import trustworthiness

    rows = np.random.default_rng(seed).choice(len(vectors), min(5000, len(vectors)), replace=False)
    return float(trustworthiness(vectors[rows], coordinates[rows], n_neighbors=10, metric="cosine"))


def compare(name: str, vectors: np.ndarray) -> dict:
    import umap

    start = time.perf_counter()
    ours = umap_project(vectors, ProjectionConfig())
    ours_seconds = time.perf_counter() - start
    start = time.perf_counter()
    plain = umap.UMAP(metric="cosine", random_state=42).fit_transform(vectors)
    plain_seconds = time.perf_counter() - start
    result = {"prodsim_seconds": round(ours_seconds, 1), "plain_umap_seconds": round(plain_seconds, 1),
              "speedup": round(plain_seconds / ours_seconds, 2),
              "trustworthiness": {"prodsim": round(trust(vectors, ours), 3), "plain_umap": round(trust(vectors, plain), 3)}}
    print(name, result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--pricerunner", action="store_true")
    args = parser.parse_args()
    warm_up()
    results = {str(n): compare(str(n), clustered(n, centres=1000)) for n in args.sizes}
    if args.pricerunner:
        import pandas as pd

        from prodsim.encoders.registry import load_text_encoder

        titles = pd.read_csv(DATASETS / "pricerunner" / "offers.csv")["product_title"].astype(str).tolist()
        results["pricerunner_35k"] = compare("pricerunner", load_text_encoder().encode(titles))
    largest = clustered(max(args.sizes), centres=1000)
    start = time.perf_counter()
    cluster_labels(largest)
    results["hdbscan_seconds_at_largest"] = round(time.perf_counter() - start, 1)
    report({"bench": "projection", "machine": machine("cpu"), "results": results, "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
