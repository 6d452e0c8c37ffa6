"""Weak supervision from categories on Flipkart: clustering NMI before and after fine-tuning.

Usage: python bench/train_categories.py [--epochs N]
The 1,050 Flipkart products (titles, descriptions, photos) are fine-tuned towards their level-1
categories with 20% of the products held out (early stopping uses pairs among them only); NMI/ARI
of the default grouping (HDBSCAN) against category_l1 are reported on all products and on the
held-out ones, before and after.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import DATASETS, machine, peak_rss_mb, report

from prodsim import api
from prodsim.ingest import ingest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    folder = DATASETS / "flipkart-1050"
    with tempfile.TemporaryDirectory() as root:
        workspace = ingest(folder / "products.csv", workspace_dir=Path(root) / "flipkart", images=folder / "images").workspace
        api.embed(workspace)
        started = time.perf_counter()
        result = api.finetune_categories(workspace, "category_l1", Path(root) / "model", epochs=args.epochs)
        seconds = time.perf_counter() - started
    report({"bench": "train_categories", "machine": machine("cpu"), "before": result["before"], "after": result["after"],
            "epochs": result["epochs"], "data": result["data"], "seconds": round(seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
