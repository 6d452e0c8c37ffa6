"""Products as people look at them: cards with a photo, a paged table with thumbnails, photos on a map's hover."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import ui
from prodsim import api
from prodsim.display import literal

THUMBS_PER_PAGE = 100
# How two products' identifier (or attribute) columns compare, as ProductSimilarity.explain and side_by_side say it.
VERDICTS = {"same": "✓ the same", "in title": "✓ named in the other's title", "different": "✗ different",
            "one side": "only one has it", "variant": "✗ differs: a variant"}


def thumbnail_uri(workspace: api.Workspace, sha1: str) -> str:
    """A data URI of a product's thumbnail (a neutral placeholder without a photo), for ImageColumn."""
    return api.thumbnail_uri(workspace, sha1)


HOVER_PHOTO_LIMIT = 5_000  # products whose map points show a photo on hover (about 2 KB each)
_HOVER_PHOTOS_JS = """
export default function(component) {
    const { data } = component;
    let tip = document.getElementById("prodsim-hover-photo");
    if (!tip) {
        tip = document.createElement("img");
        tip.id = "prodsim-hover-photo";
        tip.alt = "product photo";
        tip.style.cssText = "position:fixed;z-index:1000;display:none;pointer-events:none;width:96px;height:96px;" +
            "object-fit:contain;background:#fff;border:1px solid #d0d5dd;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.15)";
        document.body.appendChild(tip);
    }
    const attach = () => {
        document.querySelectorAll(".js-plotly-plot").forEach((plot) => {
            if (!plot.on || plot.dataset.prodsimHover === data.key) return;
            plot.dataset.prodsimHover = data.key;
            plot.on("plotly_hover", (event) => {
                const point = event.points && event.points[0];
                const src = point && data.photos[String(point.customdata)];
                if (!src) { tip.style.display = "none"; return; }
                tip.src = src;
                tip.style.left = (event.event.clientX + 18) + "px";
                tip.style.top = Math.max(8, event.event.clientY - 110) + "px";
                tip.style.display = "block";
            });
            plot.on("plotly_unhover", () => { tip.style.display = "none"; });
        });
    };
    attach();
    const timer = setInterval(attach, 700);
    return () => { clearInterval(timer); tip.style.display = "none"; };
}
"""
_hover_photos_component = st.components.v2.component("prodsim_hover_photos", js=_HOVER_PHOTOS_JS)


@st.cache_data(show_spinner=False, max_entries=4)
def _hover_photo_uris(_workspace: api.Workspace, state: str) -> dict[str, str]:
    products = _workspace.products().head(HOVER_PHOTO_LIMIT)
    uris = api.small_thumbnail_uris([_workspace.thumbnail_path(sha1) for sha1 in products["image_sha1"]])
    return {str(row): uri for row, uri in enumerate(uris) if uri}


def hover_photos(workspace: api.Workspace, state: str) -> int:
    """Shows a product's photo beside the cursor when it hovers a point of the page's plotly map.

    Points must carry their product row as ``customdata``. Returns how many products have one.
    """
    photos = _hover_photo_uris(workspace, state) if len(workspace.products()) <= HOVER_PHOTO_LIMIT else {}
    if photos:
        _hover_photos_component(data={"key": state, "photos": photos}, key="hover_photos")
    return len(photos)


def product_table(workspace: api.Workspace, products: pd.DataFrame, key: str) -> None:
    """Products with thumbnails, a page at a time."""
    pages = max(1, -(-len(products) // THUMBS_PER_PAGE))
    page = st.number_input(f"Page (of {pages:,})", 1, pages, 1, key=f"{key}_page") if pages > 1 else 1
    shown = products.iloc[(page - 1) * THUMBS_PER_PAGE: page * THUMBS_PER_PAGE].copy()
    shown.insert(0, "photo", [thumbnail_uri(workspace, s) for s in shown["image_sha1"]])
    columns = ["photo", "title", "brand", "price", "category", "id"]
    extra = [c for c in shown.columns if c not in columns + ["image_sha1", "image_file", "row", "description"]]
    st.dataframe(
        shown[columns + extra + ["description"]], hide_index=True, width="stretch", key=f"{key}_table",
        column_config={
            "photo": st.column_config.ImageColumn("Photo", width="small"),
            "price": st.column_config.NumberColumn("Price", format="%.2f"),
            "title": st.column_config.TextColumn("Title", width="large"),
            "brand": st.column_config.TextColumn("Brand"),
            "category": st.column_config.TextColumn("Category"),
            "id": st.column_config.TextColumn("Id"),
            "description": st.column_config.TextColumn("Description"),
        },
    )


def focus_product(product_id: str) -> None:
    """Opens the Neighbours page on a product (kept in the URL, so it can be bookmarked)."""
    params = {"product": product_id}
    if st.session_state.get(ui.WS_KEY):
        params["ws"] = st.session_state[ui.WS_KEY]
    st.session_state.pop("neighbours_find", None)  # a typed filter would otherwise override the focus
    st.switch_page("pages/neighbours.py", query_params=params)


def product_card(workspace: api.Workspace, product: pd.Series, key: str, score: float | None = None, focus: bool = True,
                 score_label: str = "similarity") -> None:
    """The one product card: photo, title, brand, price, category, id (and score); a button focuses it."""
    with st.container(border=True):
        st.image(thumbnail_uri(workspace, product.get("image_sha1", "")), width=120)
        st.markdown(f"**{literal(product['title'] or product['description'][:80])}**")
        price = "" if pd.isna(product["price"]) else f"{product['price']:,.2f}"
        details = " · ".join(str(v) for v in (product["brand"], price, product["category"]) if v)
        st.caption(f"{literal(details)}  \nid {literal(product['id'])}" + (f"  \n{score_label} **{score:.2f}**" if score is not None else ""))
        if focus and st.button("Similar products", key=f"{key}_focus", type="tertiary"):
            focus_product(product["id"])


def card_grid(workspace: api.Workspace, table: pd.DataFrame, key: str, columns: int = 4, score_column: str | None = "score",
              score_label: str = "similarity") -> None:
    """Product cards in rows of ``columns``."""
    for start in range(0, len(table), columns):
        for column, (i, product) in zip(st.columns(columns), table.iloc[start:start + columns].iterrows()):
            with column:
                product_card(workspace, product, key=f"{key}_{i}", score=product[score_column] if score_column else None,
                             score_label=score_label)
