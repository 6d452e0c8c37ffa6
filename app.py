"""prodsim dashboard: ``streamlit run app.py``.

Signs the person in, sets up the shared sidebar and session keys, then runs the page they picked.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import streamlit as st  # noqa: E402  (the offline switches must be set before any HF import)

from pages import team, ui  # noqa: E402

if not logging.getLogger("prodsim").handlers:  # the server log: sign-ins, model loads, failures with their reference
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("prodsim").addHandler(_handler)
    logging.getLogger("prodsim").setLevel(logging.INFO)

st.set_page_config(page_title="prodsim", page_icon=":material/shopping_bag:", layout="wide")

person = team.signed_in()
# Each url_path is its file's name: a fresh server's first request is matched against pages/ by file name
# before st.navigation runs, and any other path shows "Page not found" over a deep link.
navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("pages/catalog.py", title="Catalog", icon=":material/inventory_2:", url_path="catalog"),
    st.Page("pages/neighbours.py", title="Neighbours", icon=":material/hub:", url_path="neighbours"),
    st.Page("pages/search.py", title="Search", icon=":material/search:", url_path="search"),
    st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:", url_path="map"),
    st.Page("pages/categories.py", title="Categories", icon=":material/category:", url_path="categories"),
    st.Page("pages/category_tree.py", title="Category tree", icon=":material/account_tree:", url_path="category_tree"),
    st.Page("pages/duplicates.py", title="Duplicates", icon=":material/content_copy:", url_path="duplicates"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:", url_path="insights"),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/model_training:", url_path="evaluation"),
], position="sidebar" if person else "hidden")  # before sign-in, nothing of the app shows
if person is None:
    team.sign_in_page()  # or why this server serves nothing yet; stops the run
workspace = ui.current_workspace()
ui.sidebar(workspace)
navigation.run()
