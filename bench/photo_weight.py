"""Is the photo weight measurable from the catalog? Grouping NMI over a grid of photo weights, beside label-free estimates.

Usage: python bench/photo_weight.py
Three catalogs: the demo (drawn photos coloured by variant), Flipkart with its full text, and Flipkart with
names cut to four words and no description (a stand-in for short-name fashion catalogs, where photos matter
more). For each weight w the grouping vectors ``Fusion(vectors, w).matrix()`` are clustered by the default
pipeline (HDBSCAN) and by k-means with the true number of groups, and scored by NMI against the categories.
Beside them, estimates that need no labels: how many of a product's 10 text neighbours are also among its
photo neighbours (``overlap``), and each view's neighbour reliability from three views (dense text, character
TF-IDF of the same text, photos), assuming their errors independent: q_a = sqrt(o_ab * o_ac / o_bc). A weight
rule is worth shipping only if its estimate orders the catalogs as their best weights do.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, REPO, machine, report
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score

from prodsim import access, api
from prodsim.clustering.pipeline import cluster_labels
from prodsim.embedding import product_texts
from prodsim.encoders.fusion import Fusion
from prodsim.ingest import ingest

WEIGHTS = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)
FLIPKART = DATASETS / "flipkart-1050"


def catalogs(scratch: Path) -> dict[str, tuple[Path, Path, str]]:
    short = pd.read_csv(FLIPKART / "products.csv").drop(columns=["description"])
    short["product_name"] = short["product_name"].str.split().str[:4].str.join(" ")
    short.to_csv(scratch / "flipkart_short_names.csv", index=False)
    return {"demo": (REPO / "assets" / "demo_catalog.csv", REPO / "assets" / "demo_photos", "category"),
            "flipkart": (FLIPKART / "products.csv", FLIPKART / "images", "category_l1"),
            "flipkart_short_names": (scratch / "flipkart_short_names.csv", FLIPKART / "images", "category_l1")}


def nearest(similarity: np.ndarray, k: int = 10) -> np.ndarray:
    np.fill_diagonal(similarity, -np.inf)  # small catalogs only: this bench makes n x n matrices
    return np.argsort(-similarity, axis=1)[:, :k]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / a.shape[1] for x, y in zip(a, b)]))


def measure(workspace, truth_col: str) -> dict:
    template = api.grouping_template(workspace)  # read from the workspace's settings once, for the vectors and the texts
    vectors = api.embed(workspace, template=template)[0]
    truth = pd.factorize(api.truth_column(workspace, truth_col))[0]
    k = len(set(truth))
    grid = {}
    for w in WEIGHTS:
        fused = Fusion(vectors, w).matrix()
        grid[str(w)] = {"hdbscan_nmi": round(normalized_mutual_info_score(truth, cluster_labels(fused)[0]), 3),
                        "kmeans_nmi": round(normalized_mutual_info_score(truth, KMeans(k, n_init=10, random_state=0).fit_predict(fused)), 3)}
    photo = vectors.has_image
    texts = np.asarray(product_texts(workspace, template)[0])[photo]
    lexical = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(texts)
    text, image = vectors.text[photo], vectors.image[photo]
    dense, chars, photos = nearest(text @ text.T), nearest((lexical @ lexical.T).toarray()), nearest(image @ image.T)
    o_dc, o_dp, o_cp = overlap(dense, chars), overlap(dense, photos), overlap(chars, photos)
    q_text, q_photo = np.sqrt(o_dp * o_dc / o_cp), np.sqrt(o_dp * o_cp / o_dc)
    return {"products": len(truth), "groups": k, "grid": grid,
            "best_weight_hdbscan": max(grid, key=lambda w: grid[w]["hdbscan_nmi"]),
            "best_weight_kmeans": max(grid, key=lambda w: grid[w]["kmeans_nmi"]),
            "text_photo_overlap": round(o_dp, 3), "reliability_text": round(q_text, 3),
            "reliability_photo": round(q_photo, 3), "estimated_photo_share": round(q_photo / (q_text + q_photo), 3)}


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as scratch, access.acting_as(access.local_operator()):
        for name, (table, images, truth_col) in catalogs(Path(scratch)).items():
            workspace = ingest(table, workspace_dir=Path(scratch) / name, images=images).workspace
            results[name] = measure(workspace, truth_col)
    report({"bench": "photo_weight", "machine": machine("cpu"), "catalogs": results})


if __name__ == "__main__":
    main()
