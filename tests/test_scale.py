"""Pages on a 50,000-product workspace: no widget lists every product, one read of the products file per run, and a
lasso on a sampled map selects exactly the products inside the drawn region."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from prodsim import api
from prodsim.embedding import product_texts
from prodsim.mapview import map_layers, selected_rows
from prodsim.vector_cache import open_cache
from apptest import NavigationOnlyPagesManager, wait_for_background_work

N = 50_000
MAX_OPTIONS = 5_000
KINDS = ["kettle", "toaster", "blender", "skillet", "saucepan", "headphones", "speaker", "charger", "notebook", "backpack",
         "tent", "moisturiser", "puzzle", "sofa", "armchair", "dog bed", "cat litter", "trainers", "desk", "lamp"]
COLOURS = ["black", "white", "red", "blue", "green", "grey", "silver", "navy", "pink", "oak"]


def catalog(n: int, seed: int = 0) -> pd.DataFrame:
    """Made-up products in families (kind x brand), with variants and seller copies."""
    rng = np.random.default_rng(seed)
    kind, brand, colour = rng.integers(0, len(KINDS), n), rng.integers(0, 400, n), rng.integers(0, len(COLOURS), n)
    return pd.DataFrame({
        "id": [f"SKU-{i:06d}" for i in range(n)],
        "title": [f"Brand{b} {KINDS[k]} model {b % 37}{k} in {COLOURS[c]}" for k, b, c in zip(kind, brand, colour)],
        "brand": [f"Brand{b}" for b in brand], "category": [KINDS[k] for k in kind],
        "price": np.round(rng.lognormal(3.5, 0.8, n), 2), "seller": [f"shop{s}" for s in rng.integers(0, 50, n)]})


@pytest.fixture(scope="module")
def big(tmp_path_factory, text_encoder):
    """A 50k-product workspace whose vectors are made here (families of products near each other) and a purchase log."""
    root = tmp_path_factory.mktemp("scale")
    products = catalog(N)
    products.to_csv(root / "catalog.csv", index=False)
    workspace = api.ingest(root / "catalog.csv", workspace_dir=root / "workspaces" / "big", name="Big catalog").workspace
    _, keys = product_texts(workspace, api.load_settings(workspace).template())
    rng = np.random.default_rng(1)
    family = pd.factorize(products["title"].str.split(" model").str[0])[0]
    centres = rng.normal(size=(family.max() + 1, text_encoder.dim)).astype(np.float32)
    vectors = centres[family] + 0.6 * rng.normal(size=(N, text_encoder.dim)).astype(np.float32)
    open_cache(workspace.vectors_dir, text_encoder.fingerprint, text_encoder.dim).add(keys, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    buyers = rng.integers(0, 2_000, 20_000)
    log = pd.DataFrame({"user": buyers, "product": products["id"].to_numpy()[rng.integers(0, N, 20_000)],
                        "time": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 20_000), unit="D"), "qty": 1})
    log.to_csv(root / "log.csv", index=False)
    api.attach_behaviour(workspace, root / "log.csv")
    return root / "workspaces", workspace


def widget_options(at: AppTest) -> dict[str, int]:
    """Options per choice widget on the page."""
    widgets = [*at.selectbox, *at.multiselect, *at.radio]
    return {w.key or w.label: len(w.options) for w in widgets}


@pytest.fixture
def counted_reads(monkeypatch):
    """Counts reads of any products.parquet."""
    reads = []
    real = pd.read_parquet

    def read_parquet(path, *args, **kwargs):
        if str(path).endswith("products.parquet"):
            reads.append(str(path))
        return real(path, *args, **kwargs)
    monkeypatch.setattr(pd, "read_parquet", read_parquet)
    return reads


def test_pages_at_fifty_thousand_products_list_no_product_and_read_the_file_once(big, monkeypatch, counted_reads):
    root, workspace = big
    monkeypatch.setenv("PRODSIM_WORKSPACES", str(root))
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600).run()
    assert not at.exception and at.title[0].value == "Big catalog"
    at.switch_page("pages/map.py").run()
    wait_for_background_work(at)  # the first visit draws the map and groups in the background
    visits = [("pages/map.py", {}), ("pages/categories.py", {}), ("pages/categories.py", {"categories_section": "Reviewed categories"}),
              ("pages/categories.py", {"categories_section": "New arrivals"}), ("pages/categories.py", {"categories_section": "Misfiled?"}), ("pages/duplicates.py", {}), ("pages/duplicates.py", {"duplicates_section": "Groups"}), ("pages/insights.py", {}),
              ("pages/insights.py", {"insights_section": "Demand hints for new products"}), ("pages/neighbours.py", {}),
              ("pages/search.py", {})]
    for page, state in visits:
        for key, value in state.items():
            at.session_state[key] = value
        counted_reads.clear()
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert len(counted_reads) <= 1, (page, counted_reads)
        options = widget_options(at)
        assert max(options.values(), default=0) <= MAX_OPTIONS, (page, options)
    at.switch_page("pages/map.py").run()
    counted_reads.clear()
    at.run()  # a plain rerun reads nothing from disk
    assert not at.exception and counted_reads == []
    assert "sample points; a region you draw selects every product in it" in "\n".join(c.value for c in at.caption)


def point_in_polygon(x: float, y: float, xs: list[float], ys: list[float]) -> bool:
    """The textbook ray-casting test, one point at a time (the oracle)."""
    inside, j = False, len(xs) - 1
    for i in range(len(xs)):
        if (ys[i] > y) != (ys[j] > y) and x < xs[i] + (y - ys[i]) * (xs[j] - xs[i]) / (ys[j] - ys[i]):
            inside = not inside
        j = i
    return inside


def test_a_lasso_on_a_sampled_map_selects_exactly_the_products_inside_it():
    rng = np.random.default_rng(3)
    coordinates = rng.normal(size=(N, 2)).astype(np.float32) * [3.0, 2.0]
    layers = map_layers(coordinates)
    assert layers.sampled and len(layers.rows) < N and layers.density.sum() == N
    angles = np.sort(rng.uniform(0, 2 * np.pi, 24))  # a hand-drawn, star-shaped (non-convex) lasso
    radius = rng.uniform(1.0, 3.5, 24)
    xs, ys = (np.cos(angles) * radius).tolist(), (np.sin(angles) * radius).tolist()
    selected = selected_rows(coordinates, {"lasso": [{"x": xs, "y": ys}], "box": [], "points": [{"customdata": 0}]})
    oracle = [row for row, (x, y) in enumerate(coordinates.astype(np.float64)) if point_in_polygon(x, y, xs, ys)]
    assert selected.tolist() == oracle and len(oracle) > 1_000
    assert not set(selected) <= set(layers.rows)  # far more than the sampled points the browser saw
    box = selected_rows(coordinates, {"box": [{"x": [0.5, -1.0], "y": [-2.0, 1.0]}], "lasso": []})
    x, y = coordinates[:, 0], coordinates[:, 1]
    assert box.tolist() == np.flatnonzero((x >= -1.0) & (x <= 0.5) & (y >= -2.0) & (y <= 1.0)).tolist()
