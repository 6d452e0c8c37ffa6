"""Top-k search speed and recall: prodsim's exact and approximate indexes against numpy argpartition.

Usage: python bench/knn.py [--sizes 100000 1000000] [--queries 200]
Vectors: 384-d unit vectors around 10,000 random centres (about 10-100 per centre; Gaussian
noise, sigma 0.35 per coordinate before normalising), a stand-in for product embeddings that
form families. Queries are held-out draws from the same centres.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, peak_rss_mb, report

from prodsim.index import ExactIndex
from prodsim.index.hnsw import HNSWIndex

K = 10


def clustered(n: int, dim: int = 384, centres: int = 10_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(centres, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks, to keep memory at the size of the result
        m = min(100_000, n - start)
        block = centre[rng.integers(0, centres, m)] + 0.35 * rng.normal(size=(m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def numpy_top_k(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    scores = queries @ vectors.T
    return np.argpartition(-scores, K, axis=1)[:, :K]


def timed(search, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(ms per query batched, ms per query one at a time, rows)."""
    start = time.perf_counter()
    rows = search(queries)
    batched = (time.perf_counter() - start) * 1000 / len(queries)
    single = queries[:50]
    start = time.perf_counter()
    for q in single:
        search(q[None, :])
    one = (time.perf_counter() - start) * 1000 / len(single)
    return batched, one, rows


def recall(rows: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(t)) / K for r, t in zip(rows, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        vectors = clustered(n + args.queries)
        vectors, queries = vectors[:n], vectors[n:]
        base_batched, base_one, truth = timed(lambda q: numpy_top_k(vectors, q), queries)
        exact = ExactIndex().fit(vectors)
        exact_batched, exact_one, exact_rows = timed(lambda q: exact.search(q, K)[1], queries)
        start = time.perf_counter()
        hnsw = HNSWIndex().fit(vectors)
        build = time.perf_counter() - start
        hnsw_batched, hnsw_one, hnsw_rows = timed(lambda q: hnsw.search(q, K)[1], queries)
        results[str(n)] = {
            "numpy_argpartition": {"ms_per_query_batched": round(base_batched, 3), "ms_per_query_single": round(base_one, 2)},
            "exact": {"ms_per_query_batched": round(exact_batched, 3), "ms_per_query_single": round(exact_one, 2),
                      "recall_at_10": recall(exact_rows, truth), "speedup_single": round(base_one / exact_one, 2)},
            "hnsw": {"ms_per_query_batched": round(hnsw_batched, 3), "ms_per_query_single": round(hnsw_one, 2),
                     "recall_at_10": recall(hnsw_rows, truth), "build_seconds": round(build, 1),
                     "speedup_single": round(base_one / hnsw_one, 2)},
        }
        print(n, results[str(n)], flush=True)
    report({"bench": "knn", "machine": machine("cpu"), "k": K, "queries": args.queries, "results": results,
            "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
