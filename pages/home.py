"""Home: what is in this workspace, the next sensible step, and what the models read."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages import product_cards, team, tour, ui
from prodsim import api
from prodsim.encoders.fusion import DEFAULT_IMAGE_WEIGHT
from prodsim.progress import format_seconds

ui.ensure_app_shell()

AUTOMATIC = ""


def model_picker(label: str, kind: str, current: str | None, key: str) -> str | None:
    """prodsim's choice, a packaged model, or one in the server's models folder; returns the spec (None = automatic).

    A model set outside the app (the CLI, a trained model made active) stays offered under its folder's name."""
    options = {AUTOMATIC: "Let prodsim choose", **api.packaged_models(kind), **api.local_models(kind)}
    if current and current not in options:
        options[current] = f"{Path(current).name} (set outside this page)"
    picked = st.selectbox(label, list(options), index=list(options).index(current or AUTOMATIC), format_func=options.get, key=key,
                          help=f"Other models: put their folders in {api.models_root()} on the server.")
    return picked or None


def settings_form(workspace: api.Workspace) -> None:
    """Models, product text and photo weight for this workspace, saved in it."""
    settings = api.load_settings(workspace)
    has_photos = workspace.summary()["images"] > 0
    measured = api.stored_photo_weight(workspace)
    current = api.photo_weight(workspace)
    saved = {"home_template_fields": list(settings.template_fields), "home_template_words": settings.description_words,
             "home_text_model": settings.text_model or AUTOMATIC, "home_image_model": settings.image_model or AUTOMATIC,
             "home_use_photos": has_photos if settings.use_images is None else settings.use_images,
             "home_image_weight": DEFAULT_IMAGE_WEIGHT if current is None else current}
    for key, value in saved.items():
        ui.reset_on_change(key, value)
    with st.expander("What the models read"):
        st.caption("Changes apply the next time products are read; work already done for other settings is kept.")
        fields = st.multiselect("Product text is made of", list(api.TEMPLATE_FIELDS), default=saved["home_template_fields"],
                                key="home_template_fields")
        words = st.slider("Words of the description to use", 0, 100, saved["home_template_words"], key="home_template_words",
                          help="Counted after the words that only repeat the title and brand, which many shops open it with.")
        text_model = model_picker("Text model", "text", settings.text_model, "home_text_model")
        use_photos = st.checkbox("Use product photos", value=saved["home_use_photos"], key="home_use_photos", disabled=not has_photos)
        image_model = model_picker("Photo model", "image", settings.image_model, "home_image_model")
        weight = st.slider("How much photos count in a similarity", 0.0, 1.0, saved["home_image_weight"], 0.05,
                           key="home_image_weight", disabled=not use_photos,
                           help="Products without a photo are always compared on their text alone.")
        if use_photos:
            photo_weight_evidence(workspace, settings, measured)
        if st.button("Save", key="home_save_settings", disabled=not team.allowed("admin"), help=team.needs("admin")):
            automatic = settings.image_weight is None and weight == saved["home_image_weight"]
            chosen = api.WorkspaceSettings(
                text_model=text_model, image_model=image_model, use_images=use_photos if has_photos else None,
                image_weight=None if automatic else weight, template_fields=tuple(fields), description_words=words)
            if ui.show_errors(api.save_settings, workspace, chosen) is not None:
                st.rerun()


def photo_weight_evidence(workspace: api.Workspace, settings: api.WorkspaceSettings, measured: dict | None) -> None:
    """Where the photo weight comes from: the agreement curve it was measured by, and buttons to measure or use it."""
    import pandas as pd
    import plotly.express as px

    if measured is None:
        st.caption(f"Photos count {DEFAULT_IMAGE_WEIGHT:.0%}, the usual weight: nothing was measured on this catalog yet "
                   "(it needs a category column or reviewed categories).")
    else:
        known = "reviewed categories" if measured["source"] == "reviewed" else f"the column '{measured['column']}'"
        state = ("set by hand" if not measured["applied"] else
                 "the usual weight: no other weight agrees clearly better" if measured["weight"] == measured["default_weight"]
                 else "measured on this catalog")
        st.caption(f"Measured on {measured['products']:,} products in {measured['categories']} categories of {known}: "
                   f"at {measured['weight']:.0%} photos, {measured['agreement']:.0%} of each product's {measured['neighbours']} "
                   "most similar products share its category"
                   + ("" if measured["weight"] == measured["default_weight"] else
                      f" ({measured['agreement_at_default']:.0%} at {measured['default_weight']:.0%})")
                   + f". The weight in use is {state}.")
        curve = pd.DataFrame({"Photo weight": [float(w) for w in measured["curve"]], "Same category": list(measured["curve"].values())})
        figure = px.line(curve, x="Photo weight", y="Same category", markers=True, height=220)
        figure.add_vline(x=measured["weight"], line_dash="dot", annotation_text="chosen")
        figure.update_layout(margin=dict(l=0, r=0, t=10, b=0), yaxis_tickformat=".0%", xaxis_tickformat=".0%")
        st.plotly_chart(figure, key="home_photo_weight_curve")
    buttons = st.columns(2)
    unread = ui.missing_counts(workspace) is not None
    if buttons[0].button("Measure on this catalog", key="home_measure_photo_weight", disabled=unread or not team.allowed("admin"),
                         help=team.needs("admin") or ("After the products are read." if unread else
                                                      "From the reviewed categories when 50 or more products have one, else "
                                                      "from the category column. Maps and groups follow the next time products are read.")):
        text, photos = ui.encoders_for(workspace)
        if ui.show_errors(api.measure_photo_weight, workspace, text_encoder=text, image_encoder=photos) is not None:
            st.rerun()
    if measured is not None and settings.image_weight is not None and buttons[1].button(
            "Use the measured weight", key="home_use_measured_weight", disabled=not team.allowed("admin"), help=team.needs("admin")):
        settings.image_weight = None
        if ui.show_errors(api.save_settings, workspace, settings) is not None:
            st.rerun()


def next_step(workspace: api.Workspace) -> dict[str, int]:
    """Reading in progress, the button that reads what the models have not read yet, or what to do next."""
    text, photos = ui.encoders_for(workspace)
    counts = api.cached_counts(workspace, text, photos)
    st.subheader("Next step")
    missing = ui.missing_counts(workspace)
    if missing is not None:
        if not ui.job_panel(workspace):
            st.write("Before prodsim can show similar products, its models read every product once. "
                     "The results are kept, so this never has to be done again for the same products.")
            ui.read_button(workspace, missing, key="home_embed")
        return counts
    ui.start_map_warm_up()
    st.success(f"All {counts['products']:,} products have been read by {ui.models_caption(workspace)}.")
    job = ui.prepare_job(workspace)
    if job is not None and job.state.status == "done" and job.result:
        done = job.result
        st.caption(f"Read {done['text_encoded']:,} products and {done['images_encoded']:,} photos in "
                   f"{format_seconds(done['seconds'])} ({done['products'] - done['text_encoded']:,} were already known)."
                   + (f" {done['images_failed']:,} photos could not be read and are left out." if done["images_failed"] else ""))
    st.write("What would you like to do?")
    steps = st.columns(4)
    steps[0].page_link("pages/neighbours.py", label="See similar products", icon=":material/hub:")
    steps[1].page_link("pages/categories.py", label="Review suggested categories", icon=":material/category:")
    steps[2].page_link("pages/map.py", label="Explore the product map", icon=":material/scatter_plot:")
    steps[3].page_link("pages/duplicates.py", label="Check duplicate listings", icon=":material/content_copy:")
    ui.job_panel(workspace)  # the map and groups may still be drawn
    showcase(workspace)
    return counts


def showcase(workspace: api.Workspace) -> None:
    """A product with a photo and its most similar products, so the first page shows what prodsim does."""
    similarity = ui.similarity_or_guide(workspace)
    if similarity is None:
        return
    row = api.showcase_product(similarity)
    product = similarity.products.iloc[row]
    st.subheader("Products most like this one")
    st.caption("Similar in words and photo together; open a product to see why.")
    focus, others = st.columns([1, 4])
    with focus:
        product_cards.product_card(workspace, product, key="home_showcase_focus")
    with others:
        product_cards.card_grid(workspace, similarity.neighbours(row, k=4), key="home_showcase", columns=4)


workspace = ui.current_workspace()
if workspace is None:
    st.title("Welcome to prodsim")
    st.info("There is no catalog yet. Upload one on the Catalog page and it will appear here.")
    st.page_link("pages/catalog.py", label="Upload a catalog", icon=":material/inventory_2:")
    st.stop()

summary = workspace.summary()
st.title(workspace.name)
st.write("prodsim finds products that are alike: the same item listed by two sellers, variants in another size "
         "or colour, and products that belong together. It reads each product's title, brand, description "
         "and photo.")
metrics = st.container()
counts = next_step(workspace)
products_col, photos_col, read_col = metrics.columns(3)
if counts["texts_cached"] == summary["products"] and st.button("Take the guided tour", key="home_tour", icon=":material/tour:",
                                                             help="A few steps through this catalog, for a demo; it changes nothing."):
    tour.open_tour_step(workspace, 0)
products_col.metric("Products", f"{summary['products']:,}")
photos_col.metric("With a photo", f"{summary['images']:,} of {summary['products']:,}")
read_col.metric("Read by the models", f"{counts['texts_cached']:,} of {summary['products']:,}")
settings_form(workspace)
team.decision_feedback()
team.people_panel()

last = api.last_update(workspace)
if last:
    diff, filing = last["diff"], last["filing"]
    with st.container(border=True):
        st.markdown(f"**Last upload** ({last['at'][:16].replace('T', ' ')} UTC): {diff['new']:,} new, {diff['removed']:,} "
                    f"removed and {diff['changed']:,} changed products. {filing['filed_automatically']:,} new products were "
                    f"filed automatically into reviewed categories; {filing['queued']:,} wait under New arrivals."
                    + ("" if filing["reviewed_products"] else " Nothing was filed: no category has been reviewed yet."))
        if filing["queued"]:
            st.page_link("pages/categories.py", label="Review the new arrivals (Categories → New arrivals)", icon=":material/inbox:")

quality = workspace.quality()
if quality:
    with st.expander("Data quality of the last upload"):
        st.markdown("\n".join(f"- {line}" for line in api.QualityReport(**quality).summary_lines()))

history = workspace.history()[:10]
if history:
    with st.expander("History"):
        st.dataframe([{"when": h["at"], "who": h["actor"], "what": h["action"],
                       "details": ", ".join(f"{k}: {v}" for k, v in h["details"].items())} for h in history],
                     hide_index=True, width="stretch", key="home_history")
