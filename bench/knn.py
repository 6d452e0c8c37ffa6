"""Top-k search speed and recall: numpy, FAISS's flat index, prodsim's exact index and HNSW, in one process.

Usage: python bench/knn.py [--sizes 100000 1000000]
Vectors: 384-d unit vectors around 10,000 random centres (about 10-100 per centre; Gaussian
noise, sigma 0.35 per coordinate before normalising), a stand-in for product embeddings that
form families. Queries are held-out draws from the same centres. Each method is timed on a
batch below prodsim's small-batch limit (numpy there), a batch above it (FAISS there) and
single queries; threads are fixed (``BENCH_THREADS``) and every method is warmed up first.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import THREADS, fix_threads, machine, peak_rss_mb, report

from prodsim.index import ExactIndex
from prodsim.index.exact import SMALL_BATCH
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


def timed(search, queries: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    """(best ms per query over ``repeats`` after a warm-up call, rows)."""
    rows = search(queries)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        rows = search(queries)
        best = min(best, time.perf_counter() - start)
    return best * 1000 / len(queries), rows


def single(search, queries: np.ndarray) -> float:
    """ms per query, one query at a time (50 queries, after a warm-up)."""
    search(queries[:1])
    start = time.perf_counter()
    for q in queries[:50]:
        search(q[None, :])
    return (time.perf_counter() - start) * 1000 / 50


def recall(rows: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(r) & set(t)) / K for r, t in zip(rows, truth)]))


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    fix_threads()
    faiss.omp_set_num_threads(THREADS)
    batches = {"small": SMALL_BATCH // 4, "large": SMALL_BATCH * 4}  # below and above the numpy/FAISS switch
    results = {}
    for n in args.sizes:
        vectors = clustered(n + batches["large"])
        vectors, queries = vectors[:n], vectors[n:]
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        exact = ExactIndex().fit(vectors)
        start = time.perf_counter()
        hnsw = HNSWIndex().fit(vectors)
        build = time.perf_counter() - start
        methods = {"numpy_argpartition": lambda q: numpy_top_k(vectors, q), "faiss_flat": lambda q: flat.search(q, K)[1],
                   "prodsim_exact": lambda q: exact.search(q, K)[1], "hnsw": lambda q: hnsw.search(q, K)[1]}
        truth = {name: flat.search(queries[:size], K)[1] for name, size in batches.items()}
        row = {}
        for method, search in methods.items():
            row[method] = {"ms_per_query_single": round(single(search, queries), 3)}
            for name, size in batches.items():
                ms, rows = timed(search, queries[:size])
                row[method][f"ms_per_query_batch_{size}"] = round(ms, 4)
                row[method][f"recall_at_10_batch_{size}"] = recall(rows, truth[name])
        row["hnsw"]["build_seconds"] = round(build, 1)
        for method in methods:
            row[method]["speedup_single_vs_numpy"] = round(row["numpy_argpartition"]["ms_per_query_single"] / row[method]["ms_per_query_single"], 2)
        results[str(n)] = row
        print(n, row, flush=True)
    report({"bench": "knn", "machine": machine("cpu"), "k": K, "batches": batches, "small_batch_limit": SMALL_BATCH,
            "results": results, "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
