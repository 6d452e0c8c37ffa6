"""A self-contained HTML report of a workspace, to share with people who will not open the app.

One file, no network needed: plotly's JavaScript is inlined and thumbnails are embedded as
small JPEGs. It holds the interactive map, the category table (names, sizes, review status),
a few example neighbour sets with photos and scores, and the headline figures. Large catalogs
are sampled on the map (the report says so) so that the file stays small.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.images import small_thumbnail_uris
from prodsim.workspace import Workspace, atomic_write_bytes, now_iso

MAP_POINTS = 10_000  # points drawn on the map; beyond this a random sample (about 1 MB of JSON per 10k)
EXAMPLES = 6  # neighbour sets shown
NEIGHBOURS = 6


def _map_html(products: pd.DataFrame, coordinates: np.ndarray, groups: pd.Series, seed: int = 0) -> tuple[str, int]:
    import plotly.graph_objects as go

    rows = np.arange(len(products))
    if len(rows) > MAP_POINTS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAP_POINTS, replace=False))
    figure = go.Figure()
    shown = groups.iloc[rows]
    for group in shown.value_counts().index[:30]:
        members = rows[shown.to_numpy() == group]
        figure.add_trace(go.Scattergl(x=coordinates[members, 0], y=coordinates[members, 1], mode="markers", name=str(group)[:40],
                                      text=[str(t)[:80] for t in products["title"].iloc[members]],
                                      hovertemplate="%{text}<extra></extra>", marker={"size": 6, "opacity": 0.8}))
    figure.update_layout(height=600, margin={"l": 0, "r": 0, "t": 10, "b": 0}, xaxis={"visible": False},
                         yaxis={"visible": False}, legend={"itemsizing": "constant"}, template="plotly_white")
    return figure.to_html(full_html=False, include_plotlyjs=True, div_id="prodsim-map"), len(rows)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, classes="table", border=0, float_format=lambda v: f"{v:,.3f}")


def _card(product: pd.Series, photo: str | None, score: float | None) -> str:
    image = f'<img src="{photo}" alt="">' if photo else '<div class="nophoto">no photo</div>'
    details = " · ".join(html.escape(str(v)) for v in (product["brand"], product["category"]) if str(v))
    figure = f'<div class="score">similarity {score:.2f}</div>' if score is not None else ""
    return f'<div class="card">{image}<div class="title">{html.escape(str(product["title"])[:90])}</div><div class="meta">{details}</div>{figure}</div>'


def build_report(workspace: Workspace, similarity, coordinates: np.ndarray, final: pd.DataFrame,
                 figures: dict[str, str], examples: list[int] | None = None) -> str:
    """The report's HTML.

    Args:
        similarity: the workspace's :class:`prodsim.neighbours.ProductSimilarity` (for the neighbour sets).
        coordinates: (n, 2) map positions.
        final: :meth:`prodsim.review.ReviewStore.final` (final_category, source per product).
        figures: headline figure name -> value, already formatted.
        examples: product rows to show neighbours of (default: central products of the largest categories).
    """
    products = similarity.products
    map_html, drawn = _map_html(products, coordinates, final["final_category"])
    categories = (final.groupby("final_category")
                  .agg(products=("id", "size"), reviewed=("source", lambda s: int((s != "suggested").sum())))
                  .reset_index().rename(columns={"final_category": "category"})
                  .sort_values("products", ascending=False))
    categories["status"] = np.where(categories["reviewed"] == categories["products"], "reviewed",
                                    np.where(categories["reviewed"] > 0, "partly reviewed", "suggested"))
    if examples is None:
        examples = [int(final.index[final["final_category"] == name][0]) for name in categories["category"].head(EXAMPLES)]
    sets = []
    for row in examples:
        neighbours = similarity.neighbours(row, k=NEIGHBOURS)
        members = [row] + neighbours["candidate"].astype(int).tolist()
        photos = small_thumbnail_uris([workspace.thumbnail_path(products["image_sha1"].iloc[m]) if "image_sha1" in products else None
                                       for m in members])
        cards = [_card(products.iloc[members[0]], photos[0], None)]
        cards += [_card(products.iloc[m], p, s) for m, p, s in zip(members[1:], photos[1:], neighbours["score"], strict=True)]
        sets.append(f'<h3>Products like “{html.escape(str(products["title"].iloc[row])[:80])}”</h3><div class="cards">{"".join(cards)}</div>')
    sampled = (f"<p class='note'>The map shows a random sample of {drawn:,} of the {len(products):,} products, "
               "to keep this file small; the categories table counts all of them.</p>" if drawn < len(products) else "")
    headline = "".join(f"<div class='figure'><div class='value'>{html.escape(v)}</div><div class='name'>{html.escape(k)}</div></div>"
                       for k, v in figures.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prodsim report · {html.escape(workspace.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1f2933; padding: 0 1rem; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #616e7c; margin-top: .3rem; }}
.figures {{ display: flex; flex-wrap: wrap; gap: 1rem; margin: 1.5rem 0; }}
.figure {{ border: 1px solid #e4e7eb; border-radius: 8px; padding: .8rem 1.2rem; min-width: 140px; }}
.figure .value {{ font-size: 1.6rem; font-weight: 600; }} .figure .name {{ color: #616e7c; font-size: .9rem; }}
.table {{ border-collapse: collapse; width: 100%; font-size: .92rem; }}
.table th, .table td {{ border-bottom: 1px solid #e4e7eb; padding: .35rem .6rem; text-align: left; }}
.cards {{ display: flex; gap: .8rem; overflow-x: auto; padding-bottom: .5rem; }}
.card {{ border: 1px solid #e4e7eb; border-radius: 8px; padding: .6rem; width: 150px; flex: none; font-size: .85rem; }}
.card img, .nophoto {{ width: 96px; height: 96px; object-fit: contain; display: block; margin: 0 auto .4rem; }}
.nophoto {{ background: #f0f2f5; color: #9aa5b1; display: flex; align-items: center; justify-content: center; border-radius: 6px; }}
.card .title {{ font-weight: 600; }} .card .meta, .note {{ color: #616e7c; }} .card .score {{ margin-top: .3rem; }}
</style></head><body>
<h1>{html.escape(workspace.name)}</h1>
<p class="sub">prodsim report · {len(products):,} products · made {now_iso()[:16].replace("T", " ")} UTC</p>
<div class="figures">{headline}</div>
<h2>Product map</h2><p class="note">Similar products sit close together; colours are the categories after review.</p>
{sampled}{map_html}
<h2>Categories</h2>{_table(categories)}
<h2>Example neighbours</h2>{"".join(sets)}
</body></html>"""


def write_report(path: Path, text: str) -> int:
    """Writes the report atomically; returns its size in bytes."""
    data = text.encode("utf-8")
    atomic_write_bytes(Path(path), data)
    return len(data)
