"""What a product map sends to the browser at any size, and which products a drawn region selects.

Up to :data:`POINT_LIMIT` products every product is a point. Above it, the map is a density
layer over every product (counts on a grid) plus an evenly drawn sample of points for colour
and hover, so the page stays a few MB at a million products; a lasso or box drawn on it
selects, on the server, every product whose position falls inside the drawn region, not only
the sampled points.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

POINT_LIMIT = 15_000  # points sent with hover text; about 1.5 MB of chart
GRID = 160  # density cells per side


@dataclass
class MapLayers:
    """The parts of a map.

    Attributes:
        rows: product rows drawn as points (every product, or a sample), ascending.
        density: (GRID, GRID) product counts, or None when every product is a point.
        x_edges, y_edges: the density grid's cell edges (GRID + 1 each), or None.
        sampled: True when ``rows`` is a sample.
    """

    rows: np.ndarray
    density: np.ndarray | None
    x_edges: np.ndarray | None
    y_edges: np.ndarray | None

    @property
    def sampled(self) -> bool:
        return self.density is not None


def map_layers(coordinates: np.ndarray, limit: int = POINT_LIMIT, seed: int = 0) -> MapLayers:
    """Points for every product up to ``limit``, else a density grid of all and a random sample of ``limit`` points."""
    n = len(coordinates)
    if n <= limit:
        return MapLayers(np.arange(n), None, None, None)
    rows = np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
    density, x_edges, y_edges = np.histogram2d(coordinates[:, 0], coordinates[:, 1], bins=GRID)
    return MapLayers(rows, density.T, x_edges, y_edges)  # transposed: rows of the grid are y


def hover_texts(products: pd.DataFrame, rows: np.ndarray, values: pd.Series) -> list[str]:
    """Hover labels of the drawn rows: the title (70 characters, bold), brand and price where known, the colour value.
    HTML-escaped: plotly renders hover text as HTML."""
    chosen = products.iloc[rows]
    titles = chosen["title"].astype(str).str.slice(0, 70).map(html.escape)
    price = chosen["price"].map(lambda p: "" if pd.isna(p) else f"{p:,.2f}")
    details = (chosen["brand"].astype(str) + " · " + price).str.strip(" ·").map(html.escape)
    colour = values.iloc[rows].astype(str).map(html.escape)
    lines = "<b>" + titles + "</b><br>" + details + "<br>" + colour
    return lines.str.replace("<br><br>", "<br>", regex=False).tolist()


def rows_in_box(coordinates: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]) -> np.ndarray:
    """Rows whose position lies in the rectangle (edges included)."""
    (x0, x1), (y0, y1) = sorted(x_range), sorted(y_range)
    x, y = coordinates[:, 0], coordinates[:, 1]
    return np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))


def rows_in_polygon(coordinates: np.ndarray, xs, ys) -> np.ndarray:
    """Rows whose position lies inside the polygon with vertices (xs[i], ys[i]) (even-odd rule).

    Vectorised ray casting over the products inside the polygon's bounding box: one pass per
    edge, so a million products and a hand-drawn lasso of a hundred vertices take well under a second.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if len(xs) < 3:
        return np.zeros(0, dtype=np.int64)
    candidates = rows_in_box(coordinates, (xs.min(), xs.max()), (ys.min(), ys.max()))
    px, py = coordinates[candidates, 0].astype(np.float64), coordinates[candidates, 1].astype(np.float64)
    inside = np.zeros(len(candidates), dtype=bool)
    for (x1, y1), (x2, y2) in zip(zip(xs, ys), zip(np.roll(xs, -1), np.roll(ys, -1))):
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < at)
    return candidates[inside]


def selected_rows(coordinates: np.ndarray, selection: dict) -> np.ndarray:
    """Every product inside the regions of a plotly selection (``box`` and ``lasso`` entries), ascending.

    Args:
        selection: Streamlit's plotly selection state: ``{"box": [{"x": [x0, x1], "y": [y0, y1]}],
            "lasso": [{"x": [...], "y": [...]}], "points": [...]}``. Points picked one by one
            (their ``customdata`` is the product row) are added.
    """
    found = [rows_in_box(coordinates, box["x"], box["y"]) for box in selection.get("box", []) if len(box.get("x", [])) == 2]
    found += [rows_in_polygon(coordinates, lasso["x"], lasso["y"]) for lasso in selection.get("lasso", [])]
    if not found:  # a click, not a region
        found = [np.array([int(p["customdata"]) for p in selection.get("points", []) if p.get("customdata") is not None])]
    return np.unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, dtype=np.int64)
