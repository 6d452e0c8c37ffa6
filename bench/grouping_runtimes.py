"""Flipkart level-1 grouping NMI on each CPU encoder path, over three UMAP seeds, beside one-part k-means.

Usage: python bench/grouping_runtimes.py
Each path runs in its own process (the runtime is chosen when encoders load): the automatic one of this
machine, ONNX Runtime as on a CPU without bf16 units (``PRODSIM_ASSUME_NO_BF16=1``: int8 text, fp32
photos) and the torch fp32 reference (``PRODSIM_RUNTIME=torch`` as well). Each ingests Flipkart with its
photos, lets the photo weight be measured as ``cluster`` does, and scores the default pipeline (HDBSCAN)
at seeds 42 (the default), 1 and 2 against ``category_l1``; the baselines are k-means with the true k
on the text part and on the photo part alone, as in tests/test_clustering.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import DATASETS, machine, report

SEEDS = (42, 1, 2)
FLIPKART = DATASETS / "flipkart-1050"
PATHS = {"automatic": {},
         "onnx_no_bf16": {"PRODSIM_ASSUME_NO_BF16": "1"},
         "torch_fp32": {"PRODSIM_ASSUME_NO_BF16": "1", "PRODSIM_RUNTIME": "torch"}}


def one_path() -> dict:
    """This process's encoder path, measured (runs in a child with the path's environment)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    from prodsim import access, api
    from prodsim.api.photo_weight import measure_once
    from prodsim.clustering.pipeline import cluster_labels
    from prodsim.encoders.registry import load_image_encoder, load_text_encoder
    from prodsim.ingest import ingest

    text, image = load_text_encoder(), load_image_encoder()  # the workspace's defaults, loaded once for every step below
    with tempfile.TemporaryDirectory() as scratch, access.acting_as(access.local_operator()):
        workspace = ingest(FLIPKART / "products.csv", workspace_dir=Path(scratch) / "fk", images=FLIPKART / "images").workspace
        measure_once(workspace, text, image)  # the photo weight, measured as cluster does before it groups
        vectors = api.grouping_vectors(workspace, text_encoder=text, image_encoder=image)
        parts = api.embed(workspace, text, image, template=api.grouping_template(workspace))[0]
        truth = api.truth_column(workspace, "category_l1")
        weight = api.photo_weight(workspace)
    k = truth.nunique()

    def nmi(labels) -> float:
        return round(float(normalized_mutual_info_score(truth, labels)), 3)

    by_seed = {}
    for seed in SEEDS:
        labels, _, outliers = cluster_labels(vectors, seed=seed)
        by_seed[str(seed)] = {"nmi": nmi(labels), "groups": int(labels.max() + 1), "outlier_share": round(outliers, 3)}
    return {"text_encoder": f"{text.runtime} {text.precision}", "image_encoder": f"{image.runtime} {image.precision}",
            "photo_weight": weight, "default_nmi": by_seed["42"]["nmi"],
            "mean_nmi_over_seeds": round(float(np.mean([s["nmi"] for s in by_seed.values()])), 3), "seeds": by_seed,
            "text_only_kmeans_nmi": nmi(KMeans(k, n_init=10, random_state=0).fit_predict(parts.text)),
            "photo_only_kmeans_nmi": nmi(KMeans(k, n_init=10, random_state=0).fit_predict(parts.image))}


def main() -> None:
    results = {}
    for name, environment in PATHS.items():
        child = subprocess.run([sys.executable, __file__, "--one"], env=os.environ | environment, check=True,
                               capture_output=True, text=True)
        results[name] = json.loads(child.stdout.strip().splitlines()[-1])
    report({"bench": "grouping_runtimes", "machine": machine("cpu"), "catalog": "flipkart-1050 level 1", "paths": results})


if __name__ == "__main__":
    if sys.argv[1:] == ["--one"]:
        print(json.dumps(one_path()))
    else:
        main()
