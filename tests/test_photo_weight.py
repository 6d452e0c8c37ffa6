"""The photo weight measured on a catalog's known categories: the rule on data the test makes, and the workspace faces."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from prodsim import api
from prodsim.embedding import ProductVectors
from prodsim.encoders.fusion import DEFAULT_IMAGE_WEIGHT
from prodsim.encoders.photo_weight import MIN_PRODUCTS, measure_image_weight
from prodsim.errors import BadInputError


def views(informative: str, n_per: int = 60, categories: int = 6, seed: int = 0) -> tuple[ProductVectors, np.ndarray]:
    """Products of ``categories`` categories: one view (text or photo) shows the category clearly, the other barely."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(categories), n_per)
    centres = rng.normal(size=(categories, 32))

    def view(strength: float) -> np.ndarray:
        rows = strength * centres[labels] + rng.normal(size=(len(labels), 32))
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    clear, faint = view(1.0), view(0.15)
    text, image = (clear, faint) if informative == "text" else (faint, clear)
    return ProductVectors(np.arange(len(labels)).astype(str), text, image, np.ones(len(labels), dtype=bool)), labels.astype(str)


def test_photos_count_more_where_they_tell_categories_apart_and_less_where_the_text_does():
    photos_tell, labels = views("photo")
    measured = measure_image_weight(photos_tell, labels)
    assert measured.weight > DEFAULT_IMAGE_WEIGHT and measured.agreement > measured.agreement_at_default
    assert measured.curve[1.0] > measured.curve[0.0] and (measured.products, measured.categories) == (360, 6)
    text_tells, labels = views("text")
    measured = measure_image_weight(text_tells, labels)
    assert measured.weight <= DEFAULT_IMAGE_WEIGHT and measured.curve[0.0] > measured.curve[1.0]


def test_unknown_and_lonely_categories_are_left_out_and_a_large_catalog_is_sampled():
    vectors, labels = views("photo")
    labels = labels.astype(object)
    labels[:100] = None  # unknown
    labels[100] = "only one of its kind"  # cannot agree with anything
    measured = measure_image_weight(vectors, labels)
    assert measured.products == 259 and measured.weight > DEFAULT_IMAGE_WEIGHT
    sampled = measure_image_weight(vectors, labels, max_products=120)
    assert sampled.products <= 120 and sampled == measure_image_weight(vectors, labels, max_products=120)


@pytest.mark.parametrize("change, message", [
    (lambda v, labels: (v, np.where(np.arange(len(labels)) < MIN_PRODUCTS - 2, labels, "")), "at least 50 products"),
    (lambda v, labels: (v, np.full(len(labels), "shoes")), "in 1"),
    (lambda v, labels: (ProductVectors(v.ids, v.text, None, np.zeros(len(v.ids), dtype=bool)), labels), "none read"),
])
def test_too_little_to_measure_on_is_explained(change, message):
    vectors, labels = change(*views("photo"))
    with pytest.raises(BadInputError, match=message):
        measure_image_weight(vectors, labels)


def test_a_workspace_measures_on_its_category_column_and_a_hand_set_weight_wins(demo_workspace):
    workspace = demo_workspace
    before = workspace.meta
    with pytest.raises(BadInputError, match="at least 50 products"):  # nobody reviewed anything yet
        api.measure_photo_weight(workspace, source="reviewed")
    with pytest.raises(BadInputError, match="no column 'colour_of_box'"):
        api.measure_photo_weight(workspace, source="column", column="colour_of_box")
    assert workspace.meta == before and api.photo_weight(workspace) is None
    run = subprocess.run([sys.executable, "-m", "prodsim", "photo-weight", "--workspace", str(workspace.path)],
                         capture_output=True, text=True, cwd=REPO, check=True)
    measured = json.loads(run.stdout)
    assert {"workspace", "weight", "agreement", "agreement_at_default", "products", "categories", "neighbours", "curve",
            "source", "column", "default_weight", "measured", "applied"} <= set(measured)
    categories = workspace.products()["category"]
    assert (measured["source"], measured["column"], measured["applied"]) == ("column", "category", True)
    assert measured["categories"] == categories[workspace.products()["image_sha1"].fillna("") != ""].nunique()
    assert api.photo_weight(workspace) == measured["weight"] and len(measured["curve"]) == 21
    api.save_settings(workspace, api.WorkspaceSettings(image_weight=0.8))
    assert api.photo_weight(workspace) == 0.8 and api.stored_photo_weight(workspace)["applied"] is False
    assert any(entry["action"] == "photo weight measured" for entry in workspace.history())


def test_reviewed_categories_are_measured_on_once_enough_products_have_one(demo_workspace):
    workspace = demo_workspace
    products = workspace.products()
    store = api.ReviewStore(workspace)
    for category, rows in products.groupby("category"):
        store.accept(f"Reviewed {category}", rows["id"].astype(str).tolist())
    measured = api.measure_photo_weight(workspace)  # auto: enough reviewed products, so they are used
    assert measured["source"] == "reviewed" and measured["column"] is None
    by_column = api.measure_photo_weight(workspace, source="column")
    assert (by_column["weight"], by_column["agreement"]) == (measured["weight"], measured["agreement"])  # the same categories
    assert pd.Series(list(measured["curve"].values())).between(0, 1).all()
