"""The guided tour: a few steps over the pages of a workspace, shown in the sidebar while it runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from prodsim import api

TOUR_KEY = "tour_step"


def tour_steps(workspace: api.Workspace) -> list[dict]:
    """The guided tour over a workspace: page, what to preselect, and one or two sentences each."""
    products = workspace.products()
    first = products.iloc[0]
    categories = products["category"].replace("", pd.NA).dropna().nunique()
    steps = [
        {"page": "pages/catalog.py", "title": "The catalog",
         "text": f"{len(products):,} products" + (f" in {categories:,} categories" if categories else "") +
                 ", read from one uploaded file. Every product gets a vector from its title, description and photo."},
        {"page": "pages/map.py", "title": "The product map", "state": {"map_colour": "category" if categories else "Suggested group", "map_3d": False},
         "text": "Each point is a product; similar products sit close together. Colours are the catalog's own categories, "
                 "so products far from their colour stand out."},
        {"page": "pages/categories.py", "title": "Suggested groups, reviewed",
         "text": "prodsim proposes groups and names them from their distinctive words. A category manager accepts, renames, "
                 "merges, splits or moves; every decision is kept and can be undone."},
        {"page": "pages/neighbours.py", "title": "A product and its neighbours", "params": {"product": str(first["id"])},
         "text": f"The products most like '{str(first['title'])[:60]}', and why: shared rare words, the share of text, "
                 "photo and wording in the score, and how price and brand differ."},
        {"page": "pages/duplicates.py", "title": "Duplicate listings",
         "text": "Pairs of listings that are the same product, from different sellers; colour or size variants are told apart."},
    ]
    from prodsim.training import registry

    if not registry.list_models(workspace).empty:
        steps.append({"page": "pages/evaluation.py", "title": "Trained on our own labels",
                      "text": "A model adapted to this catalog's labelled pairs, with its figures before and after training."})
    return steps


def open_tour_step(workspace: api.Workspace, step: int) -> None:
    """Shows step ``step`` of the tour: presets its selection (never data) and opens its page."""
    steps = tour_steps(workspace)
    st.session_state[TOUR_KEY] = step = max(0, min(step, len(steps) - 1))
    for key, value in steps[step].get("state", {}).items():
        st.session_state[key] = value
    st.switch_page(steps[step]["page"], query_params={"ws": workspace.slug, **steps[step].get("params", {})})


def tour_panel(workspace: api.Workspace) -> None:
    """The tour's current step with Back / Next / End, in the sidebar of every page while a tour runs."""
    if st.query_params.get("tour") == "1" and TOUR_KEY not in st.session_state:
        st.query_params.pop("tour")
        open_tour_step(workspace, 0)
    if TOUR_KEY not in st.session_state:
        return
    steps = tour_steps(workspace)
    step = min(st.session_state[TOUR_KEY], len(steps) - 1)
    with st.container(border=True):
        st.markdown(f"**Tour {step + 1} of {len(steps)}: {steps[step]['title']}**")
        st.write(steps[step]["text"])
        back, forward, end = st.columns(3)
        if back.button("Back", key="tour_back", disabled=step == 0):
            open_tour_step(workspace, step - 1)
        if forward.button("Next", key="tour_next", disabled=step == len(steps) - 1, type="primary"):
            open_tour_step(workspace, step + 1)
        if end.button("End", key="tour_end"):
            del st.session_state[TOUR_KEY]
            st.rerun()
