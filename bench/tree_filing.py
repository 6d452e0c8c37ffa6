"""Filing products into a category tree nobody labelled them with: accuracy per level, zero-shot and after review.

Usage: python bench/tree_filing.py [--only flipkart|zh]
Flipkart (1,050 products, its own three levels 7 / 62 / 241 given as the list of its paths) and the Chinese titles
(22,207, one level of 30 names). Each catalog is read into a scratch workspace, its tree file is the distinct
true paths (no product labels), and ``api.file_into`` (what ``python -m prodsim file-into`` runs) files every
product. Then a person's review is played: the least confident 10 % of products are moved to their true leaf (the
order the review list shows them in), and the filing is run again; its accuracy is over the other 90 %.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, machine, report

from prodsim import access, api
from prodsim.ingest import ingest

REVIEWED_SHARE = 0.1


def flipkart(scratch: Path) -> tuple[Path, Path | None, list[str]]:
    table = pd.read_csv(DATASETS / "flipkart-1050" / "products.csv")
    levels = table[["category_l1", "category_l2", "category_l3"]]
    table["category_path"] = [" > ".join(v for v in row if isinstance(v, str)) for row in levels.itertuples(index=False)]
    table.to_csv(scratch / "flipkart.csv", index=False)
    return scratch / "flipkart.csv", DATASETS / "flipkart-1050" / "images", sorted(set(table["category_path"]))


def chinese(scratch: Path) -> tuple[Path, Path | None, list[str]]:
    table = pd.read_csv(DATASETS / "zh-titles-30cat" / "titles.tsv", sep="\t", dtype=str)
    table = table.rename(columns={"text_a": "title", "label": "category_path"})
    table.insert(0, "id", [f"zh{i}" for i in range(len(table))])
    table.to_csv(scratch / "zh.csv", index=False)
    names = (DATASETS / "zh-titles-30cat" / "labels.txt").read_text("utf-8").split()
    return scratch / "zh.csv", None, names


def measure(workspace, tree_file: Path) -> dict:
    zero_shot = api.file_into(workspace, tree_file, "category_path")
    filing = api.stored_filing(workspace)
    truth = api.truth_column(workspace, "category_path").to_numpy()
    weakest = np.argsort(filing["confidence"].to_numpy(), kind="stable")[:int(REVIEWED_SHARE * len(filing))]
    store = api.ReviewStore(workspace)
    ids = filing["id"].to_numpy()
    for path in sorted(set(truth[weakest])):
        store.move(list(ids[weakest][truth[weakest] == path]), path)
    tree = api.category_tree(workspace)
    refiled = api.file_into_tree(workspace, api.filing_encoders(workspace), api.grouping_vectors(workspace))
    others = ~refiled.reviewed
    return {"zero_shot": zero_shot,
            "after_review": {"reviewed": int(refiled.reviewed.sum()),
                             "accuracy_on_the_others": api.level_accuracy(refiled.paths()[others], truth[others], tree.depth),
                             "zero_shot_accuracy_on_the_same_products": api.level_accuracy(
                                 filing["path"].to_numpy()[others], truth[others], tree.depth)}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["flipkart", "zh"])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch, access.acting_as(access.local_operator()):
        for name, make in (("flipkart", flipkart), ("zh", chinese)):
            if args.only and args.only != name:
                continue
            table, images, paths = make(Path(scratch))
            tree_file = Path(scratch) / f"{name}_tree.txt"
            tree_file.write_text("\n".join(paths) + "\n", "utf-8")
            workspace = ingest(table, workspace_dir=Path(scratch) / name, images=images).workspace
            results[name] = measure(workspace, tree_file)
    report({"bench": "tree_filing", "machine": machine("cpu"), "catalogs": results})


if __name__ == "__main__":
    main()
