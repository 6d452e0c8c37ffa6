"""Shared pieces of the dashboard: the models and similarity loaded once per server, the workspace picker and
sidebar, background jobs with their progress panel, parsed uploads, the behaviour log, exports.

All Streamlit caching of models and jobs lives here so that they load once per server process, however many
browser sessions are open, and pages stay thin. Product cards and tables are in ``pages/product_cards.py``, the map
and groups the Map and Categories pages share in ``pages/grouping_view.py``, the guided tour in ``pages/tour.py``.
"""

from __future__ import annotations

import logging
import os

import pandas as pd
import streamlit as st

from pages import team, tour
from prodsim import api
from prodsim.display import literal
from prodsim.encoders.device import describe
from prodsim.errors import ProdsimError, log_unexpected
from prodsim.progress import ProgressTracker

log = logging.getLogger("prodsim.app")
PREPARE_DEMO_ENV = "PRODSIM_PREPARE_DEMO"  # "0": a first start adds the demo but does not read it in the background
WS_KEY = "workspace_slug"
PICKER_KEY = "sidebar_workspace"


def ensure_app_shell() -> None:
    """Makes a page run inside app.py's navigation and sidebar, even as a server's first request.

    Streamlit (1.67) treats a ``pages/`` folder as old-style multipage until some session has
    called ``st.navigation``; a bookmarked deep link as the very first request after a start
    would run the page file alone, without the shell. Each page calls this first: it turns
    that mode off and reruns, which goes through app.py to the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource(show_spinner=False)
def start_map_warm_up() -> None:
    """Compiles UMAP in a low-priority background thread once per server (10-20 s on 2 cores).

    Started from pages people see once their products are read (the map is the next step),
    not at server start, where it would slow the first upload.
    """
    import threading

    import sklearn.feature_extraction.text  # noqa: F401

    from prodsim.projection import warm_up

    # scikit-learn is imported here first: the page's similarity model imports it on this thread
    # while umap imports it on the warm-up thread, and two threads importing it at once can leave one
    # with a half-initialised sklearn.base ("cannot import name 'clone'"; seen on a restarted server).

    def run() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # Linux: this thread only
        warm_up()

    threading.Thread(target=run, name="umap-warm-up", daemon=True).start()


@st.cache_resource(show_spinner="Loading the text model (once per server)…", max_entries=3)
def text_encoder(spec: str, device: str = "auto", precision: str = "auto"):
    """The text encoder for ``spec``, loaded once per process."""
    log.info("loading the text model %s (once per server process)", spec)
    return api.load_text_encoder(spec, device, precision)


@st.cache_resource(show_spinner="Loading the photo model (once per server)…", max_entries=3)
def image_encoder(spec: str | None = None, device: str = "auto", precision: str = "auto"):
    """The image encoder for ``spec``, loaded once per process."""
    log.info("loading the photo model %s (once per server process)", spec)
    return api.load_image_encoder(spec, device, precision)


def reset_on_change(key: str, basis) -> None:
    """Clears the keyed widget ``key`` when ``basis``, what it was drawn for, changed since the page's last run.

    Streamlit keeps a keyed widget's value across reruns even when its default changes. A widget showing a saved
    setting must follow it when it is saved elsewhere (a measurement finishing in the background, a colleague's save,
    another workspace picked in the sidebar), or the next Save writes the old value back; a confirmation ticked for
    one workspace must not carry over to another. A value the person changed stays until the basis moves.
    """
    seen = f"{key}__basis"
    if seen in st.session_state and st.session_state[seen] != basis:
        st.session_state.pop(key, None)
    st.session_state[seen] = basis


def read_only() -> bool:
    """True when the app was started for demos with PRODSIM_READ_ONLY=1 (the library refuses writes too)."""
    return api.read_only()


def workspace_root():
    """The folder of workspaces: set by whoever runs the server (``PRODSIM_WORKSPACES``, else ./workspaces), never
    from a page, so a browser can reach no other folder on the server.

    The default folder gets the demo catalog on first start, so a new user sees a working app.
    """
    root = api.default_root()
    demo = api.demo_for_new_root(root)
    if demo is not None and os.environ.get(PREPARE_DEMO_ENV, "1") != "0":
        start_prepare(demo)  # a newcomer's first page shows the demo being read, then its map, groups and neighbours
    return root


def current_workspace() -> api.Workspace | None:
    """The workspace chosen in the sidebar (kept in the URL as ?ws=slug)."""
    workspaces = {w.slug: w for w in api.list_workspaces(workspace_root())}
    slug = st.session_state.get(WS_KEY) or st.query_params.get("ws")
    if slug not in workspaces:
        slug = next(iter(workspaces), None)
    st.session_state[WS_KEY] = slug
    return workspaces.get(slug)


def select_workspace(slug: str) -> None:
    """Makes ``slug`` the current workspace (e.g. after an upload)."""
    st.session_state[WS_KEY] = slug
    st.query_params["ws"] = slug


def sidebar(workspace: api.Workspace | None) -> None:
    """The workspace picker and the active models, the same on every page."""
    workspaces = api.list_workspaces(workspace_root())
    with st.sidebar:
        team.sidebar_identity()
        if workspaces:
            labels = {w.slug: f"{w.name} · {w.summary()['products']:,} products" for w in workspaces}
            # The picker follows the current workspace (which an upload may have just changed);
            # a pick by the user changes it through the callback.
            st.session_state[PICKER_KEY] = workspace.slug if workspace else workspaces[0].slug
            st.selectbox("Workspace", list(labels), format_func=labels.get, key=PICKER_KEY,
                         on_change=lambda: select_workspace(st.session_state[PICKER_KEY]))
            st.query_params["ws"] = st.session_state[PICKER_KEY]
        if workspace is not None:
            tour.tour_panel(workspace)
            last_read = next((h["at"] for h in workspace.history() if h["action"] == "embed"), None)
            st.caption(f"Last read by the models: {last_read.replace('T', ' ')[:16]} UTC" if last_read else "Not read by the models yet")
            if team.allowed("admin"):
                _manage(workspace)
        st.caption(models_caption(workspace))
        if read_only():
            st.info("Read-only mode: uploads, review decisions, labels, training and deletions are switched off, "
                    "so this demo cannot change a workspace.", icon=":material/lock:")


def _manage(workspace: api.Workspace) -> None:
    reset_on_change("sidebar_rename_text", workspace.name)
    reset_on_change("sidebar_delete_confirm", workspace.slug)
    with st.expander("Rename or delete this workspace"):
        new_name = st.text_input("New name", value=workspace.name, key="sidebar_rename_text")
        if st.button("Rename", key="sidebar_rename") and new_name != workspace.name:
            show_errors(workspace.rename, new_name)
            st.rerun()
        confirm = st.checkbox(f"Yes, delete '{workspace.name}' and everything in it", key="sidebar_delete_confirm")
        if st.button("Delete workspace", key="sidebar_delete", disabled=not confirm, type="secondary"):
            workspace.delete()
            st.session_state.pop(WS_KEY, None)
            st.query_params.pop("ws", None)
            st.rerun()


def runtime_choice() -> tuple[str, str]:
    """(device, precision) for this server: ``PRODSIM_DEVICE`` / ``PRODSIM_PRECISION`` or automatic.

    (``PRODSIM_RUNTIME`` is read by the library itself, see prodsim.encoders.device.)
    """
    return os.environ.get("PRODSIM_DEVICE", "auto"), os.environ.get("PRODSIM_PRECISION", "auto")


def encoders_for(workspace: api.Workspace | None):
    """(text encoder, image encoder or None) for a workspace's settings; a broken model choice is shown, and the default used."""
    device, precision = runtime_choice()
    text_spec, image_spec = api.model_specs(workspace) if workspace else (api.DEFAULT_TEXT, None)
    text = show_errors(text_encoder, text_spec, device, precision) or text_encoder(api.DEFAULT_TEXT, device, precision)
    image = None
    if image_spec:
        image = show_errors(image_encoder, image_spec, device, precision) or image_encoder(api.DEFAULT_IMAGE, device, precision)
    return text, image


def models_caption(workspace: api.Workspace | None) -> str:
    """E.g. 'MiniLM-L6 · EfficientNet-Lite0 · CPU · OpenVINO bf16'."""
    text, image = encoders_for(workspace)
    parts = [("text", text.runtime, text.precision)] + ([("photos", image.runtime, image.precision)] if image else [])
    return " · ".join([text.label] + ([image.label] if image else []) + [describe(text.device, parts)])


def show_errors(function, *args, **kwargs):
    """Runs a library call; a user-facing problem becomes st.error, anything else is logged."""
    try:
        return function(*args, **kwargs)
    except ProdsimError as err:
        st.error(str(err))
    except Exception:  # the page must never show a stack trace; the log keeps it
        st.error(log_unexpected(getattr(function, "__name__", str(function))) + " Nothing was changed.")
    return None


def job_runner():
    """The background jobs of this server process (shared by every browser session)."""
    from prodsim.jobs import runner

    return runner()


def _prepare_key(workspace: api.Workspace) -> str:
    return f"prepare:{workspace.path}"


def start_workspace_job(workspace: api.Workspace, label: str, work, resume=None):
    """Starts a workspace's background job under its one job key, so every page's progress panel shows it
    (``resume``: see JobRunner.start)."""
    return job_runner().start(_prepare_key(workspace), label, work, resume)


def _prepare_work(workspace: api.Workspace, grouping: bool = True):
    """(label, work) of reading a workspace's products (and drawing its map and groups)."""
    text, image = encoders_for(workspace)
    label = f"Reading '{workspace.name}'" if grouping else f"Reading the products of '{workspace.name}'"

    def work(progress, should_stop):
        state = api.workspace_state(workspace, text, image)  # when it runs: a resumed reading follows an update
        result = api.prepare(workspace, text, image, grouping=grouping, progress=progress, should_stop=should_stop)
        return result | {"state": state}
    return label, work


def start_prepare(workspace: api.Workspace, grouping: bool = True):
    """Starts reading a workspace's products (and drawing its map and groups) in the background; returns the job."""
    return start_workspace_job(workspace, *_prepare_work(workspace, grouping))


@st.cache_data(show_spinner="Comparing the file with the workspace's products…", max_entries=4)
def update_preview(_workspace: api.Workspace, data: bytes, name: str, mapping: tuple, sheet: str | None, photos: bytes | None,
                   photos_name: str, version: tuple) -> dict:
    """What an upload (and its photos) would change in a workspace, once per file, mapping and ``version`` (the
    workspace's folder and products version: the cache key, since the workspace object itself is not hashed)."""
    return api.update(_workspace, data, catalog_name=name, mapping=dict(mapping), sheet=sheet, images=photos,
                      images_name=photos_name, dry_run=True)


def start_update(workspace: api.Workspace, data: bytes, name: str, mapping: dict, sheet: str | None, photos: bytes | None,
                 photos_name: str, threshold: float, confirmed: tuple):
    """Updates a workspace with next week's file in the background, then reads what is new and redraws map and groups."""
    text, image = encoders_for(workspace)

    def work(progress, should_stop):
        result = api.update(workspace, data, catalog_name=name, mapping=mapping, sheet=sheet, images=photos,
                            images_name=photos_name, auto_file_above=threshold, confirmed=confirmed, text_encoder=text,
                            image_encoder=image, progress=progress)
        return result | api.prepare(workspace, text, image, progress=progress, should_stop=should_stop)
    # Stopped after the update landed: Continue reads what is new, it does not apply the file a second time.
    return start_workspace_job(workspace, f"Updating '{workspace.name}'", work, resume=_prepare_work(workspace))


def prepare_job(workspace: api.Workspace):
    """The workspace's latest background reading job (running or ended), or None."""
    return job_runner().get(_prepare_key(workspace))


def job_panel(workspace: api.Workspace) -> bool:
    """The workspace's background job as a progress bar with time left and a Cancel button; True while it runs.

    The panel redraws itself every second; when the job ends, the whole page runs again and shows the result.
    An ended job's outcome (cancelled, failed) is shown once, with what to do next.
    """
    job = prepare_job(workspace)
    if job is None:
        return False
    if not job.state.running:
        if job.state.status in ("cancelled", "failed"):
            (st.warning if job.state.status == "cancelled" else st.error)(job.state.message)
            if st.button(f"Continue: {job.resume[0]}", key=f"job_continue_{workspace.slug}", disabled=read_only(),
                         help="Picks up where it stopped: finished work is kept."):
                job_runner().resume(job.key)
                st.rerun()
        return False
    _job_progress(workspace.slug, job.key)
    return True


@st.fragment(run_every=1.0)
def _job_progress(slug: str, key: str) -> None:
    job = job_runner().get(key)
    if job is None or not job.state.running:
        st.rerun(scope="app")
    state = job.state
    with st.container(border=True):
        st.markdown(f"**{literal(job.label)}** — the models read each product once; the results are kept.")
        st.progress(state.progress.fraction if state.progress else 0.0, text=state.text())
        if st.button("Cancel", key=f"job_cancel_{slug}", help="Stops after the current batch or step; finished work is kept."):
            job.cancel()
            st.caption("Stopping after the current step…")


def progress_reporter(label: str):
    """A progress bar with counts, speed and time left; returns the (stage, done, total) callback."""
    bar = st.progress(0.0, text=label)
    return ProgressTracker(lambda state: bar.progress(state.fraction, text=state.text()))


@st.cache_resource(show_spinner="Preparing similarity for this catalog…", max_entries=4)
def shared_similarity(_workspace: api.Workspace, _text, _image, state: str) -> api.ProductSimilarity:
    """One similarity model per workspace state, shared by all sessions (``state`` is the cache key)."""
    return api.similarity(_workspace, _text, _image)


def read_button(workspace: api.Workspace, counts: dict[str, int], key: str) -> None:
    """'Read 1,047 products and 1,047 photos': starts the background reading (shown by :func:`job_panel`)."""
    missing_texts = counts["products"] - counts["texts_cached"]
    missing_photos = counts["photos"] - counts["photos_cached"] if "photos_cached" in counts else 0
    label = f"Read {missing_texts:,} products" + (f" and {missing_photos:,} photos" if missing_photos else "")
    if st.button(label, type="primary", key=key, disabled=read_only()):
        start_prepare(workspace)
        st.rerun()


def missing_counts(workspace: api.Workspace) -> dict[str, int] | None:
    """The cache counts when some product or photo is not read yet, else None."""
    text, image = encoders_for(workspace)
    counts = api.cached_counts(workspace, text, image)
    if image is None:
        counts["photos_cached"] = counts["photos"]
    done = counts["texts_cached"] >= counts["products"] and counts["photos_cached"] >= counts["photos"]
    return None if done else counts


def similarity_or_guide(workspace: api.Workspace | None) -> api.ProductSimilarity | None:
    """The workspace's similarity model, or a progress panel or an explanation of what to do first (then None)."""
    if workspace is None:
        st.info("There is no catalog yet. Upload one on the Catalog page.")
        st.page_link("pages/catalog.py", label="Upload a catalog", icon=":material/inventory_2:")
        return None
    counts = missing_counts(workspace)
    if counts is not None:
        if job_panel(workspace):
            return None
        st.info(f"The models have read {counts['texts_cached']:,} of {counts['products']:,} products so far. "
                "They read every product once; the results are kept.")
        read_button(workspace, counts, key="guide_read")
        return None
    start_map_warm_up()
    text, image = encoders_for(workspace)
    return shared_similarity(workspace, text, image, api.workspace_state(workspace, text, image))


def similarity_page(title: str) -> tuple[api.Workspace, api.ProductSimilarity]:
    """The common start of pages that compare products: title, workspace, similarity (or a guide and stop)."""
    st.title(title)
    workspace = current_workspace()
    similarity = similarity_or_guide(workspace)
    if similarity is None:
        st.stop()
    return workspace, similarity


@st.cache_data(show_spinner=False, max_entries=4)
def read_upload(data: bytes, name: str, sheet: str | None = None) -> api.RawTable:
    """An uploaded table, parsed once per distinct file and sheet (reruns while its columns are mapped reuse it)."""
    return api.read_table(data, name, sheet)


@st.cache_data(show_spinner=False, max_entries=4)
def guessed_roles(data: bytes, name: str, sheet: str | None = None) -> api.ColumnRoles:
    """The identifier and attribute columns prodsim suggests for an upload, guessed once per file and sheet (the
    guess reads values of every column, too much for each rerun of the mapping form)."""
    return api.guess_roles(read_upload(data, name, sheet).frame, {})


@st.cache_resource(show_spinner=False, max_entries=8)
def _behaviour(_workspace: api.Workspace, folder: str, version: int):
    return api.behaviour_log(_workspace)


def behaviour(workspace: api.Workspace):
    """The workspace's behaviour log and its report (None without one), read once per version of the log."""
    from prodsim.insights.behaviour import log_version

    version = log_version(workspace)
    return None if version is None else _behaviour(workspace, str(workspace.path), version)


@st.cache_resource(show_spinner="Learning from the behaviour log…", max_entries=4)
def _behaviour_models(_workspace: api.Workspace, _similarity: api.ProductSimilarity, state: str, log: int):
    return api.behaviour_models(_workspace, _similarity)


def behaviour_models(workspace: api.Workspace, similarity: api.ProductSimilarity, state: str):
    """What is learnt from the attached log (see api.behaviour_models), once per workspace state and log version."""
    from prodsim.insights.behaviour import log_version

    return _behaviour_models(workspace, similarity, state, log_version(workspace))


def breadcrumbs(state_key: str, trail: list[tuple[str, object]], top: tuple[str, object] = ("Top", "")) -> None:
    """The way back up a tree in one row: ``top`` then each (label, value) of ``trail``; a click puts the value
    in ``st.session_state[state_key]``."""
    with st.container(horizontal=True):
        for depth, (label, value) in enumerate([top, *trail]):
            st.button(label, key=f"{state_key}_crumb_{depth}", on_click=st.session_state.__setitem__, args=(state_key, value))


def export_buttons(frame: pd.DataFrame, stem: str, key: str) -> None:
    """CSV and Excel downloads of a table, made when clicked (formula-safe; Excel up to XLSX_ROW_LIMIT rows)."""
    csv_column, xlsx_column = st.columns(2)
    csv_column.download_button("Download CSV", lambda: api.csv_bytes(frame), file_name=f"{stem}.csv", mime="text/csv",
                               key=f"{key}_csv", on_click="ignore")
    if len(frame) <= api.XLSX_ROW_LIMIT:
        xlsx_column.download_button("Download Excel", lambda: api.xlsx_bytes(frame), file_name=f"{stem}.xlsx", on_click="ignore",
                                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx")
    else:
        xlsx_column.caption(f"Excel downloads are offered up to {api.XLSX_ROW_LIMIT:,} rows; this table has {len(frame):,}: use CSV.")
