"""Ray Data batch embedding against the in-process path, on PriceRunner's 35,311 offers, in one process.

Usage: python bench/ray_embed.py [--workers 2] [--batch-size 512]
Both paths build the products from the same CSV and run the default text model at its default
precision. The Ray figure counts everything a user waits for (local Ray start, reading, one model
per worker, writing shards); the second run over the same data reuses the started Ray (its workers
still load their models), as a pipeline on a running cluster would.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import DATASETS, machine, peak_rss_mb, report

from prodsim import batch
from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.embedding import TextTemplate
from prodsim.encoders.registry import load_text_encoder


def main() -> None:
    import ray

    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args()
    offers = DATASETS / "pricerunner" / "offers.csv"
    started = time.perf_counter()
    raw = read_table(offers)
    products = build_products(raw, guess_mapping(raw.frame))[0]
    encoder = load_text_encoder()
    encoder.encode(TextTemplate().render(products.head(256)))
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    encoder.encode(TextTemplate().render(products))
    local_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        first = batch.embed_with_ray(str(offers), Path(folder) / "first", workers=args.workers, batch_size=args.batch_size)
        ray_seconds = time.perf_counter() - started
        started = time.perf_counter()
        batch.embed_with_ray(str(offers), Path(folder) / "second", workers=args.workers, batch_size=args.batch_size)
        steady_seconds = time.perf_counter() - started
    ray.shutdown()
    rows = first["rows"]
    report({"bench": "ray_embed", "machine": machine("cpu"), "rows": rows, "workers": args.workers, "batch_size": args.batch_size,
            "precision": encoder.precision,
            "in_process": {"rows_per_second": round(rows / local_seconds, 1), "seconds": round(local_seconds, 1),
                           "read_and_load_seconds": round(load_seconds, 1)},
            "ray_first_run": {"rows_per_second": round(rows / ray_seconds, 1), "seconds": round(ray_seconds, 1)},
            "ray_second_run_same_session": {"rows_per_second": round(rows / steady_seconds, 1), "seconds": round(steady_seconds, 1)},
            "ratio_ray_vs_in_process": round(local_seconds / steady_seconds, 2),
            "rows_per_second_per_cpu_worker": round(rows / steady_seconds / args.workers, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
