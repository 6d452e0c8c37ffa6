"""Neighbours: pick a product, see the most similar ones and why they are similar."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages import product_cards, ui
from prodsim import api
from prodsim.display import as_cell, literal

ui.ensure_app_shell()

SHARE_COLOURS = {"text": "#2563eb", "photo": "#f59e0b", "wording": "#10b981", "model code": "#8b5cf6", "identifier": "#dc2626"}

workspace, similarity = ui.similarity_page("Similar products")
products = similarity.products


def pick_product() -> int | None:
    """The focused product: from the URL (?product=id), else chosen here."""
    wanted = st.query_params.get("product")
    if wanted is not None and wanted not in similarity.row_of:
        st.warning(literal(f"The product '{wanted}' in this link is not in '{workspace.name}' any more (it may have been "
                           "removed by a newer upload). Pick another product below."))
        wanted = None
    query = st.text_input("Find a product by title, brand or id", key="neighbours_find", placeholder="e.g. kettle")
    if query:
        matches = api.find_products(products, query).tolist()
        if not matches:
            st.info(literal(f"No product matches '{query}'."))
            return similarity.row_of.get(wanted)
        choice = st.selectbox(f"{len(matches):,} matching products", matches, key="neighbours_pick",
                              format_func=lambda r: f"{products['title'][r]} · {products['id'][r]}")
        if products["id"][choice] != wanted:
            st.query_params["product"] = products["id"][choice]
        return choice
    return similarity.row_of.get(wanted, 0)


def filters(focus: pd.Series):
    """Category, price and brand filters; returns a function over candidate tables."""
    with st.expander("Filters"):
        category = st.radio("Category", ["Any", "Same category", "Other categories"], horizontal=True, key="neighbours_category")
        prices = products["price"].dropna()
        band = None
        if len(prices) and prices.min() < prices.max():
            band = st.slider("Price", float(prices.min()), float(prices.max()), (float(prices.min()), float(prices.max())),
                             key="neighbours_price")
        brands = st.multiselect("Brands", sorted(b for b in products["brand"].unique() if b), key="neighbours_brands")

    def keep(table: pd.DataFrame) -> pd.Series:
        mask = pd.Series(True, index=table.index)
        if category == "Same category":
            mask &= table["category"] == focus["category"]
        elif category == "Other categories":
            mask &= table["category"] != focus["category"]
        if band is not None and band != (float(prices.min()), float(prices.max())):
            mask &= table["price"].between(*band)
        if brands:
            mask &= table["brand"].isin(brands)
        return mask
    return keep


def why_panel(row: int, neighbours: pd.DataFrame) -> None:
    st.subheader("Why similar?")
    other = st.selectbox("Compare with", neighbours["candidate"].tolist(), key="neighbours_why",
                         format_func=lambda r: f"{products['title'][r]} · {products['id'][r]}")
    why = similarity.explain(row, other)
    figure = go.Figure([go.Bar(y=["score"], x=[share * why["score"]], name=part, orientation="h",
                               marker_color=SHARE_COLOURS[part], hovertemplate=f"{part}: {share:.0%}<extra></extra>")
                        for part, share in why["shares"].items() if share > 0])
    # A shared identifier is added outside the 0-1 score of text, photo and wording, so the bar can pass 1: the axis says why.
    axis = ("score: up to 1 from text, photo and wording, plus the shared identifier" if why["shares"].get("identifier", 0) > 0
            else "score (1: alike in text, photo and wording)")
    figure.update_layout(barmode="stack", height=140, margin=dict(l=0, r=0, t=10, b=0), xaxis_title=axis,
                         legend=dict(orientation="h"), yaxis=dict(showticklabels=False))
    st.plotly_chart(figure, key="neighbours_shares")
    left, right = st.columns(2)
    with left:
        st.markdown("**Shared words and codes** (rarest first)")
        st.write(", ".join(f"`{term}`" for term, _ in why["shared_terms"]) or "None: the similarity comes from meaning or the photo.")
    with right:
        st.markdown("**Differences**")
        if why["differences"]:
            st.dataframe(pd.DataFrame([{"": k, "this product": as_cell(v[0]), "similar product": as_cell(v[1])}
                                       for k, v in why["differences"].items()]),
                         hide_index=True, key="neighbours_differences")
        elif why["same"]:
            st.write(f"Same {', '.join(why['same'])}.")
        else:
            st.write("Neither has a brand, category, price or attribute to compare.")
    if why["identifiers"]:
        st.markdown("**Identifiers** (a shared GTIN, MPN or model number means one product)")
        st.dataframe(pd.DataFrame([{"": column, "this product": found["left"], "similar product": found["right"],
                                    "verdict": product_cards.VERDICTS[found["verdict"]]} for column, found in why["identifiers"].items()]),
                     hide_index=True, key="neighbours_identifiers")


row = pick_product()
if row is None:
    st.stop()
focus = products.iloc[row]
card_column, result_column = st.columns([1, 3])
with card_column:
    st.caption("This product")
    product_cards.product_card(workspace, focus, key="neighbours_focus", focus=False)
with result_column:
    keep = filters(focus)
    count = st.slider("How many", 4, 40, 12, 4, key="neighbours_k")
    neighbours = similarity.neighbours(row, k=count, keep=keep)
    if neighbours.empty:
        st.info("No product passes these filters. Widen the price band or clear the brand filter.")
        st.stop()
    product_cards.card_grid(workspace, neighbours, key="neighbours_card")
why_panel(row, neighbours)
