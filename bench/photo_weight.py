"""The photo weight measured on a catalog's categories, beside grouping NMI over a grid of weights.

Usage: python bench/photo_weight.py
Three catalogs: the demo (drawn photos coloured by variant), Flipkart with its full text, and Flipkart with
names cut to four words and no description (a stand-in for short-name fashion catalogs, where photos matter
more), the last also against its 62 sub-categories. For each weight w the grouping vectors ``Fusion(vectors, w).matrix()`` are clustered by the default
pipeline (HDBSCAN) and by k-means with the true number of groups, and scored by NMI against the categories.
Beside them, the weight ``measure_image_weight`` chooses (how often a product's 5 nearest neighbours share its
category): from the whole category column, and from five random samples of 100 products (what a reviewer who
checked 100 products would give it), each with the default grouping's NMI at that weight.
Label-free estimates were tried in earlier versions of this bench (text/photo neighbour overlap, reliability
from three views, stability of halves): none ordered the catalogs as their best weights do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, REPO, machine, report
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from prodsim import access, api
from prodsim.clustering.pipeline import cluster_labels
from prodsim.encoders.fusion import Fusion
from prodsim.encoders.photo_weight import measure_image_weight
from prodsim.ingest import ingest

WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)
REVIEWED = 100  # products a reviewer checked, per sample
FLIPKART = DATASETS / "flipkart-1050"


def catalogs(scratch: Path) -> dict[str, tuple[Path, Path, str]]:
    short = pd.read_csv(FLIPKART / "products.csv").drop(columns=["description"])
    short["product_name"] = short["product_name"].str.split().str[:4].str.join(" ")
    short.to_csv(scratch / "flipkart_short_names.csv", index=False)
    return {"demo": (REPO / "assets" / "demo_catalog.csv", REPO / "assets" / "demo_photos", "category"),
            "flipkart": (FLIPKART / "products.csv", FLIPKART / "images", "category_l1"),
            "flipkart_short_names": (scratch / "flipkart_short_names.csv", FLIPKART / "images", "category_l1"),
            # against the 62 sub-categories, as the held-out fashion catalog is scored
            "flipkart_short_names_sub_categories": (scratch / "flipkart_short_names.csv", FLIPKART / "images", "category_l2")}


def measure(workspace, truth_col: str) -> dict:
    template = api.grouping_template(workspace)  # read from the workspace's settings once, for the vectors and the texts
    vectors = api.embed(workspace, template=template)[0]
    truth = pd.factorize(api.truth_column(workspace, truth_col))[0]
    k = len(set(truth))
    nmi = {}

    def nmi_at(weight: float) -> dict:
        if weight not in nmi:
            fused = Fusion(vectors, weight).matrix()
            nmi[weight] = {"hdbscan_nmi": round(normalized_mutual_info_score(truth, cluster_labels(fused)[0]), 3),
                           "kmeans_nmi": round(normalized_mutual_info_score(truth, KMeans(k, n_init=10, random_state=0).fit_predict(fused)), 3)}
        return nmi[weight]

    grid = {str(w): nmi_at(w) for w in WEIGHTS}
    whole = measure_image_weight(vectors, truth)
    rng = np.random.default_rng(0)
    samples = []
    for _ in range(5):
        labels = np.full(len(truth), "", dtype=object)
        reviewed = rng.choice(len(truth), REVIEWED, replace=False)
        labels[reviewed] = truth[reviewed].astype(str)
        weight = measure_image_weight(vectors, labels).weight
        samples.append({"weight": weight} | nmi_at(weight))
    return {"products": len(truth), "groups": k, "grid": grid,
            "best_weight_hdbscan": max(grid, key=lambda w: grid[w]["hdbscan_nmi"]),
            "best_weight_kmeans": max(grid, key=lambda w: grid[w]["kmeans_nmi"]),
            "measured_on_the_column": {"weight": whole.weight, "agreement": whole.agreement,
                                       "agreement_at_default": whole.agreement_at_default} | nmi_at(whole.weight),
            "measured_on_100_reviewed_products": samples}


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as scratch, access.acting_as(access.local_operator()):
        for name, (table, images, truth_col) in catalogs(Path(scratch)).items():
            workspace = ingest(table, workspace_dir=Path(scratch) / name, images=images).workspace
            results[name] = measure(workspace, truth_col)
    report({"bench": "photo_weight", "machine": machine("cpu"), "catalogs": results})


if __name__ == "__main__":
    main()
