"""What the Map, Categories and Category tree pages share: the stored map and groups, the decisions over them and
the tables derived from the whole catalog, cached per workspace state (and version of the decisions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from pages import team, ui
from prodsim import api
from prodsim.review import ReviewStore


class _NotPrepared(Exception):
    """Raised inside a cached loader so that "not ready yet" is never cached."""


@st.cache_resource(show_spinner=False, max_entries=4)
def _grouping(_workspace: api.Workspace, _text, _image, state: str):
    """(grouping vectors, map coordinates, clusters) per workspace state, read from the workspace once prepared."""
    stored = api.stored_grouping(_workspace, _text, _image)
    if stored is None:
        raise _NotPrepared
    return stored


def map_3d(workspace: api.Workspace, vectors):
    """The workspace's 3-D map (computed once, then read from its projections folder)."""
    with st.spinner("Drawing the 3-D map (first time only)…"):
        return api.project(workspace, n_components=3, vectors=vectors)


def grouping_or_guide(workspace: api.Workspace | None):
    """(vectors, coordinates, clusters) for a workspace whose map and groups are ready, else progress or a guide and None.

    The first visit starts drawing them in the background (progress with stages and a Cancel);
    what is kept in the workspace is read back instantly afterwards.
    """
    ready = _ready_grouping(workspace)
    return None if ready is None else ready[0]


def _ready_grouping(workspace: api.Workspace | None):
    """(grouping, workspace state) as :func:`grouping_or_guide` gives the grouping, with the state it belongs to."""
    if ui.similarity_or_guide(workspace) is None:
        return None
    text, image = ui.encoders_for(workspace)
    state = api.workspace_state(workspace, text, image)
    try:
        return _grouping(workspace, text, image, state), state
    except _NotPrepared:
        pass
    if ui.job_panel(workspace):
        return None
    job = ui.prepare_job(workspace)
    if job is not None and job.state.status == "done" and (job.result or {}).get("state") == state:
        st.error("The map and groups were drawn but cannot be read back from the workspace; see the server log.")
        return None
    if job is None or job.state.status == "done":
        ui.start_prepare(workspace)
        st.rerun()
    return None


@dataclass
class GroupingView:
    """What the Map and Categories pages share: products, map, suggested groups and decisions."""

    workspace: api.Workspace
    products: pd.DataFrame
    vectors: object  # (n, d) grouping vectors, see api.grouping_vectors
    coordinates: object  # (n, 2) array
    clusters: api.Clusters
    store: ReviewStore
    suggested: pd.Series  # suggested group name per product
    final: pd.DataFrame  # decisions first, suggestions for the rest
    state: str  # the workspace state the map and groups belong to (a cache key)
    seen: int  # the step of the decisions this page is drawn at: its decisions are refused if a colleague's came between


@st.cache_resource(show_spinner=False, max_entries=4)
def _suggested(_clusters: api.Clusters, state: str) -> pd.Series:
    return _clusters.suggested()


@st.cache_resource(show_spinner=False, max_entries=4)
def _final(_workspace: api.Workspace, _suggested: pd.Series, state: str, decisions: tuple) -> pd.DataFrame:
    """Final categories per workspace state and version of the decisions (shared: never change it)."""
    return ReviewStore(_workspace).final(_workspace.products(), _suggested)


@st.cache_resource(show_spinner=False, max_entries=4)
def group_summary(_view: GroupingView, state: str) -> pd.DataFrame:
    """Each suggested group's name, size, tightness and central product (see Clusters.summary), once per state."""
    return _view.clusters.summary(_view.products, _view.vectors)


@st.cache_resource(show_spinner="Finding the sub-groups (once)…", max_entries=4)
def suggested_levels(_view: GroupingView, state: str):
    """The suggested groups at every level (level 1 = the suggested groups), once per state (kept on disk too)."""
    return api.suggested_levels(_view.workspace, _view.clusters, _view.vectors)


@st.cache_resource(show_spinner=False, max_entries=8)
def level_paths(_view: GroupingView, state: str, level: int) -> pd.Series:
    """Each product's suggested path of names down to ``level``."""
    return pd.Series(suggested_levels(_view, state).paths(level))


@st.cache_resource(show_spinner="Looking for products filed under another category (once)…", max_entries=4)
def misfiled(_view: GroupingView, state: str) -> pd.DataFrame:
    """Products whose most similar products mostly carry another category, once per state."""
    return api.misfiled_products(_view.vectors, _view.products["category"])


@st.cache_resource(show_spinner=False, max_entries=4)
def arrivals(_view: GroupingView, state: str, decisions: int) -> pd.DataFrame:
    """The New arrivals queue with its products' titles and those of its evidence, once per state and decisions version."""
    queue = api.new_arrivals(_view.workspace)
    titles = pd.Series(_view.products["title"].to_numpy(), index=_view.products["id"].to_numpy())
    return queue.assign(title=queue["id"].map(titles).fillna(""),
                        like=[[titles.get(e, e) for e in ids.split("|") if e] for ids in queue["evidence"]])


def grouping_page(title: str) -> GroupingView:
    """The common start of the Map and Categories pages (a guide and stop when products are not read).

    Everything derived from the whole catalog is cached per workspace state (and per version of the
    decisions), so a rerun of these pages does no pass over every product.
    """
    st.title(title)
    workspace = ui.current_workspace()
    ready = _ready_grouping(workspace)
    if ready is None:
        st.stop()
    (vectors, coordinates, clusters), state = ready
    store = ReviewStore(workspace)
    team.decision_feedback()
    seen = team.colleagues_since(store, workspace)
    suggested = _suggested(clusters, state)
    final = _final(workspace, suggested, state, (seen,))
    return GroupingView(workspace, workspace.products(), vectors, coordinates, clusters, store, suggested, final, state, seen)


def report_button(workspace: api.Workspace, vectors, key: str) -> None:
    """Prepares the workspace's self-contained HTML report and offers it for download (``vectors``: the page's grouping vectors)."""
    import tempfile

    if st.button("Prepare a report to share (HTML)", key=f"{key}_prepare",
                 help="One file with the map, the categories and example neighbours; opens without network or prodsim."):
        text, image = ui.encoders_for(workspace)
        with st.spinner("Writing the report…"), tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{workspace.slug}-report.html"
            similarity_model = ui.shared_similarity(workspace, text, image, api.workspace_state(workspace, text, image))
            written = ui.show_errors(api.report, workspace, path, similarity_model=similarity_model, vectors=vectors)
            if written:
                st.session_state[f"{key}_report_{workspace.slug}"] = path.read_bytes()
    if f"{key}_report_{workspace.slug}" in st.session_state:
        data = st.session_state[f"{key}_report_{workspace.slug}"]
        st.download_button(f"Download the report ({len(data) / 1e6:.1f} MB)", data, file_name=f"{workspace.slug}-report.html",
                           mime="text/html", key=f"{key}_download")
