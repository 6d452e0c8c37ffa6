"""Living catalogs: a catalog reviewed by its true categories, then next week's file with the held-back products.

Usage: python bench/living_catalog.py [--datasets flipkart pricerunner]

Flipkart (with photos): 80 % of products "reviewed" (accepted under their level-1, then level-2, category),
the whole file uploaded as the update, so the other 20 % arrive. PriceRunner: 90 % reviewed by category,
3,500 arriving. Reported: accuracy of the automatically filed products, their share, the queue's accuracy
(its suggestions), and the update's time with and without reading the new products' texts and photos.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, machine, report

from prodsim import api
from prodsim.review import FILED, ReviewStore


def run(name: str, table: pd.DataFrame, id_col: str, truth_col: str, reviewed_share: float, images: Path | None,
        seed: int = 0) -> dict:
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(seed)
    reviewed = rng.random(len(table)) < reviewed_share
    table[reviewed].to_csv(folder / "week1.csv", index=False)
    table.to_csv(folder / "week2.csv", index=False)
    workspace = api.ingest(folder / "week1.csv", workspace_dir=folder / "ws", images=images).workspace
    started = time.perf_counter()
    api.grouping_vectors(workspace)
    first_read = time.perf_counter() - started
    store = ReviewStore(workspace)
    truth = table.set_index(table[id_col].astype(str))[truth_col].astype(str)
    for category, ids in truth[reviewed].groupby(truth[reviewed]).groups.items():
        store.accept(category, list(ids))
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def progress(stage: str, done: int, total: int) -> None:  # time spent per stage: reading new texts and photos apart
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[:] = [now, stage]

    started = time.perf_counter()
    result = api.update(workspace, folder / "week2.csv", images=images, progress=progress)
    seconds = time.perf_counter() - started
    reading = sum(v for k, v in stages.items() if k.startswith(("Reading product texts", "Looking at photos")))
    final = store.assignments()
    filed = final[final["source"] == FILED]
    names = store.groups().set_index("group_id")["name"]
    filed_right = (filed["group_id"].map(names).to_numpy() == truth.loc[filed["product_id"]].to_numpy())
    queue = api.new_arrivals(workspace)
    queue_right = queue["suggested"].to_numpy() == truth.loc[queue["id"]].to_numpy()
    arrivals = result["filing"]["arrivals"]
    shutil.rmtree(folder, ignore_errors=True)
    return {"dataset": name, "categories": int(truth.nunique()), "products": len(table), "arriving": arrivals,
            "filed_share": round(len(filed) / arrivals, 3), "filed_accuracy": round(float(filed_right.mean()), 3),
            "queue_accuracy": round(float(queue_right.mean()), 3) if len(queue) else None,
            "overall_accuracy": round(float((filed_right.sum() + queue_right.sum()) / arrivals), 3),
            "threshold": result["auto_file_above"], "update_seconds": round(seconds, 1),
            "reading_new_products_seconds": round(reading, 1), "update_without_reading_seconds": round(seconds - reading, 1),
            "first_read_seconds": round(first_read, 1), "diff": {k: result["diff"][k] for k in ("new", "removed", "changed", "unchanged")}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=["flipkart", "pricerunner"])
    args = parser.parse_args()
    results = []
    if "flipkart" in args.datasets:
        flipkart = pd.read_csv(DATASETS / "flipkart-1050" / "products.csv", dtype=str)
        for level in ("category_l1", "category_l2"):
            results.append(run(f"flipkart {level}", flipkart, "uniq_id", level, 0.8, DATASETS / "flipkart-1050" / "images"))
            print(results[-1], flush=True)
    if "pricerunner" in args.datasets:
        offers = pd.read_csv(DATASETS / "pricerunner" / "offers.csv", dtype=str)
        results.append(run("pricerunner category", offers, "product_id", "category_label", 0.9, None))
        print(results[-1], flush=True)
    report({"bench": "living_catalog", "machine": machine("cpu"), "results": results})


if __name__ == "__main__":
    main()
