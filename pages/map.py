"""Map: every product as a point, similar products close together; select some and act on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages import grouping_view, product_cards, team, ui
from prodsim import api

ui.ensure_app_shell()

MAX_LEGEND = 24  # colour values beyond this are drawn together as "other"
SUGGESTED, FINAL = "Suggested group", "Category after review"

view = grouping_view.grouping_page("Product map")
workspace, products, coordinates, store, suggested, final = (view.workspace, view.products, view.coordinates, view.store,
                                                            view.suggested, view.final)

extra = api.label_columns(products)
depth = grouping_view.suggested_levels(view, view.state).depth
LEVELS = {f"Suggested groups, level {level}": level for level in range(2, depth + 1)}
left, middle, right = st.columns([3, 1, 1])
colour_by = left.selectbox("Colour by", [SUGGESTED, *LEVELS, FINAL] + extra, key="map_colour")
behaviour = ui.behaviour(workspace)
size_options = ["same size"] + (["price"] if products["price"].notna().any() else []) + (["units sold"] if behaviour else [])
size_by = middle.selectbox("Size by", size_options, key="map_size")
three_d = right.toggle("3-D", key="map_3d", help="A 3-D map to turn around; selecting products works on the 2-D map.")
values = (grouping_view.level_paths(view, view.state, LEVELS[colour_by]) if colour_by in LEVELS else
          {SUGGESTED: suggested, FINAL: final["final_category"]}.get(colour_by, products.get(colour_by, suggested))).astype(str)
top = values.value_counts().index[:MAX_LEGEND]
values = values.where(values.isin(top), "other")

sizes = 7.0
if size_by == "price":
    sizes = 5 + 15 * products["price"].fillna(products["price"].median()).rank(pct=True)
elif size_by == "units sold":
    sizes = 4 + 16 * api.product_sales(behaviour[0], products)["units"].clip(lower=0).rank(pct=True)


@st.cache_resource(show_spinner=False, max_entries=8)
def map_figure(state: str, decisions: tuple, colour_by: str, size_by: tuple, three_d: bool, _products, _coordinates, _values,
               _sizes):
    """(figure, layers) per workspace state, decisions and choices: a page switch reuses it instead of rebuilding
    15k hover labels and traces."""
    layers = api.map_layers(_coordinates)
    figure = go.Figure()
    if layers.sampled and not three_d:  # every product as density, a sample as points
        figure.add_trace(go.Heatmap(z=np.log1p(layers.density), x=(layers.x_edges[:-1] + layers.x_edges[1:]) / 2,
                                    y=(layers.y_edges[:-1] + layers.y_edges[1:]) / 2, colorscale="Greys", showscale=False,
                                    hoverinfo="skip", zsmooth="best", opacity=0.55))
    labels = pd.Series(api.hover_texts(_products, layers.rows, _values), index=layers.rows)
    drawn = _values.iloc[layers.rows]
    for value in drawn.value_counts().index:
        rows = drawn.index[drawn == value].to_numpy()
        common = {"mode": "markers", "name": value[:40], "customdata": rows.tolist(), "text": labels[rows].tolist(),
                  "hovertemplate": "%{text}<extra></extra>"}
        marker = {"size": _sizes if isinstance(_sizes, float) else _sizes[rows], "opacity": 0.8}
        if three_d:
            marker["size"] = marker["size"] / 2  # 3-D points read larger
            figure.add_trace(go.Scatter3d(x=_coordinates[rows, 0], y=_coordinates[rows, 1], z=_coordinates[rows, 2],
                                          marker=marker, **common))
        else:
            figure.add_trace(go.Scattergl(x=_coordinates[rows, 0], y=_coordinates[rows, 1], marker=marker, **common))
    hidden = {"visible": False}
    figure.update_layout(height=620, margin={"l": 0, "r": 0, "t": 10, "b": 0}, dragmode="lasso", legend={"itemsizing": "constant"},
                         xaxis=hidden, yaxis=hidden, scene={"xaxis": hidden, "yaxis": hidden, "zaxis": hidden})
    return figure, layers


if three_d:
    coordinates = grouping_view.map_3d(workspace, view.vectors)
# Sizes by units sold follow the log: the cached log object changes with its version.
figure, layers = map_figure(view.state, (view.seen,) if colour_by == FINAL else (), colour_by,
                            (size_by, id(behaviour) if size_by == "units sold" else None), three_d, products, coordinates, values,
                            sizes)
sample_note = (f" Shown as density, with {len(layers.rows):,} sample points; a region you draw selects every product in it."
               if layers.sampled else "")
if three_d:
    st.plotly_chart(figure, key="map_chart_3d")
    st.caption(f"{len(products):,} products in 3-D: drag to turn, scroll to zoom. Switch 3-D off to select products.{sample_note}")
    st.stop()
event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"), key="map_chart")
with_photos = product_cards.hover_photos(workspace, view.state)
st.caption(f"{len(products):,} products. Drag a lasso or a box around points to list them below."
           + (" Point at a product to see its photo." if with_photos else "") + sample_note)

if api.last_update(workspace) and st.button(
        "Redraw the map from scratch", key="map_redraw", disabled=not team.allowed("reviewer"),
        help="The last upload placed its new products among their nearest ones on this map, so nothing else moved. "
             "Redrawing fits the map to every product again: positions change."):
    if ui.show_errors(api.redraw_map, workspace) is not None:
        ui.start_prepare(workspace)
        st.rerun()

selected = api.selected_rows(coordinates, event.selection) if event and event.selection else np.zeros(0, dtype=int)
if not len(selected):
    st.info("Select products on the map to see them here, export them, or put them into a category.")
    grouping_view.report_button(workspace, view.vectors, key="map_report")
    st.stop()
chosen = products.iloc[selected]
st.subheader(f"{len(chosen):,} selected products")
product_cards.product_table(workspace, chosen, key="map_selected")
ui.export_buttons(chosen.drop(columns=["image_sha1", "row"]), f"{workspace.slug}-selection", key="map_export")
with st.form("map_assign"):
    existing = store.groups().query("status == 'accepted'")["name"].tolist()
    st.text_input("Put them into the category", placeholder="new or existing category name", key="map_category")
    st.caption("Existing categories: " + (", ".join(existing) if existing else "none yet"))
    st.form_submit_button("Assign", disabled=not team.allowed("reviewer"), help=team.needs("reviewer"),
                          **team.on_click(store.move, chosen["id"].tolist(), team.Widget("map_category"), seen=view.seen,
                                          done="Moved {result:,} products to '{args[1]}'. Undo it on the Categories page."))
