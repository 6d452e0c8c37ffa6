"""Approximate indexes at 1M and 5M vectors: build time, size, ms/query and recall@10 against exact search.

Usage: python bench/index_scale.py [--sizes 1000000 5000000] [--hnsw-max 1000000] [--queries 1000]

Data: synthetic clustered unit vectors, 384-d like MiniLM's: 20,000 random unit centres, each
point a centre plus Gaussian noise (sigma 0.045 per dimension, so cosine to its centre is about
0.75, and a product's true neighbours are mostly in its own cluster, as near-duplicates are);
queries are drawn the same way. The baseline is exact inner-product search (FAISS IndexFlatIP)
run in the same process; ratios are against it. "rerank300" asks IVF-PQ (nprobe 32 or 64) for 300
candidates and re-scores them with the full vectors, as the workspace's neighbour search does (it
re-scores them with the whole hybrid similarity).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, peak_rss_mb, report

from prodsim.index.hnsw import HNSWIndex
from prodsim.index.ivfpq import IVFPQIndex

DIM, CENTRES, SIGMA = 384, 20_000, 0.045
CANDIDATES = 300  # what the workspace's neighbour search asks an approximate index for (neighbours.CANDIDATES)


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator, chunk: int = 500_000) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        block = centres[rng.integers(0, len(centres), size)] + SIGMA * rng.standard_normal((size, DIM), dtype=np.float32)
        out[start:start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def size_mb(index) -> float:
    import faiss

    return faiss.serialize_index(index).nbytes / 1e6


def timed_search(search, queries: np.ndarray, k: int) -> tuple[np.ndarray, float, float]:
    """(rows, ms per query in one batch, ms per query asked one at a time on 200 queries)."""
    start = time.perf_counter()
    rows = search(queries, k)
    batch_ms = (time.perf_counter() - start) * 1000 / len(queries)
    start = time.perf_counter()
    for query in queries[:200]:
        search(query[None, :], k)
    single_ms = (time.perf_counter() - start) * 1000 / 200
    return rows, batch_ms, single_ms


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--hnsw-max", type=int, default=1_000_000, help="skip HNSW above this size (its build is slow on 2 cores)")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    queries = clustered(args.queries, centres, rng)
    results = []
    for n in args.sizes:
        started = time.perf_counter()
        vectors = clustered(n, centres, np.random.default_rng(n))
        row = {"n": n, "generate_s": round(time.perf_counter() - started, 1), "vectors_mb": round(vectors.nbytes / 1e6)}
        flat = faiss.IndexFlatIP(DIM)
        flat.add(vectors)
        truth, exact_batch_ms, exact_single_ms = timed_search(lambda q, k: flat.search(q, k)[1], queries, 10)
        row["exact"] = {"ms_per_query_batch": round(exact_batch_ms, 3), "ms_per_query_single": round(exact_single_ms, 2)}
        flat.reset()  # frees its copy of the vectors
        kinds = [("ivfpq", IVFPQIndex)] + ([("hnsw", HNSWIndex)] if n <= args.hnsw_max else [])
        for name, make in kinds:
            started = time.perf_counter()
            index = make().fit(vectors)
            build = time.perf_counter() - started
            found, batch_ms, single_ms = timed_search(lambda q, k: index.search(q, k)[1], queries, 10)
            entry = {"build_s": round(build, 1), "index_mb": round(size_mb(index.index), 1), "recall_at_10": round(recall(found, truth), 4),
                     "ms_per_query_batch": round(batch_ms, 3), "ms_per_query_single": round(single_ms, 3),
                     "speedup_single_vs_exact": round(exact_single_ms / single_ms, 1)}
            if name == "ivfpq":
                for nprobe in (32, 64):
                    faiss.extract_index_ivf(index.index).nprobe = nprobe

                    def rerank(q, k, index=index):
                        candidates = index.search(q, CANDIDATES)[1]
                        exact_scores = np.einsum("qd,qcd->qc", q, vectors[candidates])
                        return np.take_along_axis(candidates, np.argsort(-exact_scores, axis=1)[:, :k], axis=1)

                    found, batch_ms, single_ms = timed_search(rerank, queries, 10)
                    entry[f"rerank{CANDIDATES}_nprobe{nprobe}"] = {
                        "recall_at_10": round(recall(found, truth), 4), "ms_per_query_batch": round(batch_ms, 3),
                        "ms_per_query_single": round(single_ms, 3)}
            row[name] = entry
            print(name, n, entry, flush=True)
            index = None
        row["peak_rss_mb"] = round(peak_rss_mb(), 1)
        results.append(row)
        vectors = None
    report({"bench": "index_scale", "machine": machine("cpu"), "faiss_threads": faiss.omp_get_max_threads(),
            "data": f"{CENTRES:,} centres, sigma {SIGMA}, {DIM}-d unit vectors", "queries": args.queries, "results": results})


if __name__ == "__main__":
    main()
