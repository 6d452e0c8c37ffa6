"""Home: what is in this workspace and the next sensible step."""

from __future__ import annotations

import streamlit as st

from pages import ui
from prodsim import api
from prodsim.errors import Cancelled
from prodsim.progress import format_seconds

workspace = ui.current_workspace()
if workspace is None:
    st.title("Welcome to prodsim")
    st.info("There is no catalog yet. Upload one on the Catalog page and it will appear here.")
    st.page_link("pages/catalog.py", label="Upload a catalog", icon=":material/inventory_2:")
    st.stop()

summary = workspace.summary()
st.title(workspace.name)
st.write("prodsim finds products that are alike: the same item listed by two sellers, variants in another size "
         "or colour, and products that belong together. It reads each product's title, brand, category, "
         "description and photo.")

text = ui.text_encoder(api.suggest_text_model(workspace))
photos = ui.image_encoder() if summary["images"] else None
counts = api.cached_counts(workspace, text, photos)
missing = (counts["products"] - counts["texts_cached"]) + (counts["photos"] - counts["photos_cached"])

products_col, photos_col, read_col = st.columns(3)
products_col.metric("Products", f"{summary['products']:,}")
photos_col.metric("With a photo", f"{summary['images']:,} of {summary['products']:,}")
read_col.metric("Read by the models", f"{counts['texts_cached']:,} of {summary['products']:,}")

st.subheader("Next step")
if missing:
    label = f"Read {counts['products'] - counts['texts_cached']:,} products" + (
        f" and {counts['photos'] - counts['photos_cached']:,} photos" if counts["photos"] > counts["photos_cached"] else "")
    st.write("Before prodsim can show similar products, its models read every product once. "
             "The results are kept, so this never has to be done again for the same products.")
    if st.button(label, type="primary", key="home_embed"):
        st.button("Cancel", key="home_cancel", help="Stops after the current batch; finished work is kept.")
        tracker = ui.progress_reporter("Starting…")
        try:
            _, stats = api.embed(workspace, text, photos, use_images=photos is not None, progress=tracker)
        except Cancelled as stop:
            st.warning(str(stop))
        else:
            failed = f" {len(stats.images_failed):,} photos could not be read and are left out." if stats.images_failed else ""
            st.session_state["home_last_embed"] = (
                f"Read {stats.text_encoded:,} products and {stats.images_encoded:,} photos in "
                f"{format_seconds(stats.seconds)} ({stats.text_cached:,} were already known).{failed}")
            st.rerun()
else:
    st.success(f"All {counts['products']:,} products have been read by {ui.models_caption(workspace)}.")
    st.page_link("pages/catalog.py", label="Browse the catalog", icon=":material/inventory_2:")
if "home_last_embed" in st.session_state:
    st.caption(st.session_state["home_last_embed"])

quality = workspace.quality()
if quality:
    with st.expander("Data quality of the last upload"):
        for line in api.QualityReport(**quality).summary_lines():
            st.write("- " + line)

history = workspace.history()[:10]
if history:
    with st.expander("History"):
        st.dataframe([{"when": h["at"], "who": h["actor"], "what": h["action"],
                       "details": ", ".join(f"{k}: {v}" for k, v in h["details"].items())} for h in history],
                     hide_index=True, width="stretch", key="home_history")
