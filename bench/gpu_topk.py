"""Exact top-10 over 1M product vectors on CUDA (torch, fp16) against FAISS's flat index on the CPU, same process.

Usage: python bench/gpu_topk.py [--n 1000000] [--queries 10000]
Data: 384-d unit vectors around 20,000 random centres (as bench/index_scale.py). Recall is the
GPU's top-10 against the CPU's (fp16 rounding can swap near ties).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine, report, sync

from prodsim.index.exact import ExactIndex
from prodsim.index.torch_topk import TorchIndex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=10_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20_000, 384), dtype=np.float32)
    points = centres[rng.integers(0, len(centres), args.n + args.queries)] + 0.045 * rng.standard_normal((args.n + args.queries, 384), dtype=np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    vectors, queries = points[:args.n], points[args.n:]
    started = time.perf_counter()
    gpu = TorchIndex("cuda").fit(vectors)
    sync("cuda")
    upload = time.perf_counter() - started
    gpu.search(queries[:100], 10)
    sync("cuda")
    started = time.perf_counter()
    _, gpu_rows = gpu.search(queries, 10)
    sync("cuda")
    gpu_ms = (time.perf_counter() - started) * 1000 / len(queries)
    cpu = ExactIndex().fit(vectors)
    few = queries[:1000]
    started = time.perf_counter()
    _, cpu_rows = cpu.search(few, 10)
    cpu_ms = (time.perf_counter() - started) * 1000 / len(few)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(gpu_rows[:1000], cpu_rows)]))
    report({"bench": "gpu_topk", "machine": machine("cuda"), "n": args.n, "queries": args.queries,
            "upload_s": round(upload, 2), "gpu_ms_per_query": round(gpu_ms, 4), "cpu_faiss_flat_ms_per_query": round(cpu_ms, 3),
            "speedup": round(cpu_ms / gpu_ms, 1), "recall_at_10_vs_cpu": round(recall, 4)})


if __name__ == "__main__":
    main()
