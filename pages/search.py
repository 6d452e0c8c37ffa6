"""Search: find products by typed words or by a photo."""

from __future__ import annotations

import streamlit as st

from pages import product_cards, ui
from prodsim import api

ui.ensure_app_shell()

workspace, similarity = ui.similarity_page("Search")
text_encoder, image_encoder = ui.encoders_for(workspace)
RESULT_COLUMNS = ["id", "title", "brand", "category", "price", "score", "identifier_match"]


def show(results, key: str) -> None:
    if results is None or results.empty:
        return
    carriers = int(results["identifier_match"].sum()) if "identifier_match" in results else 0
    st.caption(f"{len(results):,} products, best match first"
               + (f"; {carriers:,} carry the GTIN, MPN or model number you typed, so they come first" if carriers else ""))
    product_cards.card_grid(workspace, results, key=key)
    st.download_button("Download these results (CSV)", api.csv_bytes(results[[c for c in RESULT_COLUMNS if c in results]]),
                       file_name=f"{workspace.slug}-search.csv", mime="text/csv", key=f"{key}_export")


words_tab, photo_tab = st.tabs(["By words", "By photo"])
with words_tab:
    query = st.text_input("What are you looking for?", key="search_query", placeholder="e.g. cordless kettle, KDL-40V4100")
    weight = st.slider("Match meaning ← → match exact words", 0.0, 1.0, 0.5, 0.05, key="search_keyword_weight",
                       help="Left finds paraphrases ('water boiler' for kettles); right favours exact words and model numbers.")
    count = st.slider("Results", 4, 60, 12, 4, key="search_count")
    if query:
        show(ui.show_errors(api.search_text, similarity, text_encoder, query, count, weight), key="search_words")
with photo_tab:
    if image_encoder is None:
        st.info("This catalog has no product photos, so there is nothing to compare a photo with. "
                "Add photos on the Catalog page (a ZIP named by product id).")
    else:
        photo = st.file_uploader("A product photo", type=["jpg", "jpeg", "png", "webp"], key="search_photo")
        if photo is not None:
            results = ui.show_errors(api.search_photo, similarity, image_encoder, photo.getvalue(), photo.name)
            if results is not None:
                st.image(photo.getvalue(), width=160, caption="Your photo")
                show(results, key="search_photo_results")
