"""Shared fixtures: dataset paths, workspaces in temporary folders, models loaded once.

Tests that read the shared real datasets are marked ``datasets``. They find them through one
setting, ``PRODSIM_DATASETS`` (default ``../shared/datasets`` beside the clone), and are skipped
with that reason where the folder is missing (a user's clone). CI sets ``PRODSIM_REQUIRE_DATASETS=1``
(see .ci/run), which turns a missing folder into an error, so CI never passes by skipping.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
DATASETS = Path(os.environ.get("PRODSIM_DATASETS", REPO.parent / "shared" / "datasets")).resolve()
HAVE_DATASETS = DATASETS.is_dir()
DEMO_CATALOG = REPO / "assets" / "demo_catalog.csv"
DEMO_PHOTOS = REPO / "assets" / "demo_photos"
FLIPKART = DATASETS / "flipkart-1050"
# Cosine of an int8 text vector to its torch fp32 twin: (mean, min) floors. Dynamic int8 scales activations per batch,
# so the error follows the CPU's kernels and the texts batched together. Measured on the demo: mean 0.996 on an Intel
# Xeon (AMX), mean 0.9957 and min 0.992 on an AMD EPYC (AVX2), where two int8 runs with other batch sizes differ by as
# much (0.9963 / 0.993). A wrong template lands far below (title only: mean 0.83); bf16 and fp32 keep tighter floors.
INT8_COSINE_FLOOR = (0.99, 0.95)


def pytest_configure(config):
    if os.environ.get("PRODSIM_REQUIRE_DATASETS") == "1" and not HAVE_DATASETS:
        raise pytest.UsageError(f"PRODSIM_REQUIRE_DATASETS=1 but the shared datasets are not at {DATASETS}; "
                                "set PRODSIM_DATASETS to their folder.")


def pytest_collection_modifyitems(config, items):
    if HAVE_DATASETS:
        return
    skip = pytest.mark.skip(reason=f"needs the shared datasets, not found at {DATASETS} (set PRODSIM_DATASETS)")
    for item in items:
        if "datasets" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def tests_act_as_the_local_operator():
    """Library calls a test makes itself act as the CLI's local operator (an admin) would. Without this, once a test
    has imported the app, code outside any browser session acts as nobody (a viewer), as on a server; the app's
    own sessions (AppTest runs them on their threads) still act as their signed-in person, and threads a test
    starts act as whoever it names (see test_review's two reviewers)."""
    from prodsim import access

    with access.acting_as(access.local_operator()) as operator:
        yield operator


def tree_digest(path: Path) -> dict[str, str]:
    """Every file under ``path`` with the SHA-1 of its bytes (empty dict if it does not exist)."""
    if not path.exists():
        return {}
    # SQLite's -shm file is its shared-memory index of the WAL, which readers update too; it holds no data.
    return {str(p.relative_to(path)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.endswith("-shm")}


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def run_verb(capsys, *args) -> tuple[int, dict]:
    """``python -m prodsim ARGS`` run in this process: its exit code and the one JSON object it printed.

    For verbs whose work is what a test checks; a new interpreter would add its torch import, model loading and
    UMAP compilation (20-40 s a call here). ``python -m prodsim`` itself is run as a process by the ingest, embed and
    error tests.
    """
    from prodsim import cli

    code = cli.main([str(a) for a in args])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty workspaces folder, also set as the default root."""
    folder = tmp_path / "workspaces"
    folder.mkdir()
    monkeypatch.setenv("PRODSIM_WORKSPACES", str(folder))
    return folder


@pytest.fixture
def demo_workspace(root):
    """The demo catalog as a first start adds it: products, drawn photos and purchase log, in a fresh workspace."""
    from prodsim.demo import add_demo

    return add_demo(root)


@pytest.fixture(scope="session")
def flipkart_zip() -> bytes:
    """Flipkart's photo folder as one ZIP."""
    return make_zip({p.name: p.read_bytes() for p in sorted((FLIPKART / "images").iterdir())})


@pytest.fixture(scope="session")
def text_encoder():
    """The default text encoder (auto precision), loaded once per test session."""
    from prodsim.encoders.registry import load_text_encoder

    return load_text_encoder()


@pytest.fixture(scope="session")
def image_encoder():
    """The default image encoder, loaded once per test session."""
    from prodsim.encoders.registry import load_image_encoder

    return load_image_encoder()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed journey reports what the browser showed and the server's last log lines, and leaves a screenshot:
    a timeout alone does not say whether the app was still working, had failed, or was never asked."""
    outcome = yield
    report = outcome.get_result()
    tab, server_state = item.funcargs.get("page"), item.funcargs.get("shared_server")
    if report.when != "call" or not report.failed or tab is None:
        return
    from browser import ARTIFACTS

    try:  # every open tab: a journey may drive the tabs of people it signed in rather than this one
        tabs = [t for context in tab.context.browser.contexts for t in context.pages]
    except Exception as err:  # the browser itself may be what failed
        tabs = []
        report.sections.append(("what the page showed", f"not readable: {err}"))
    for number, shown in enumerate(tabs):
        try:
            shown.screenshot(path=ARTIFACTS / f"failed-{item.name}-{number}.png", full_page=True)
            report.sections.append((f"what tab {number} showed ({shown.url})", shown.inner_text("body")[-4000:]))
        except Exception as err:
            report.sections.append((f"what tab {number} showed", f"not readable: {err}"))
    if server_state is not None and server_state.log.exists():
        report.sections.append(("server log, last lines", "\n".join(server_state.log.read_text(errors="replace").splitlines()[-60:])))


# --- browser journeys (tests/browser.py): one server and one Chromium per test module ---
@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """The module's server: its workspaces folder, log, and an accounts file that does not exist until the team
    tests write it (single-user mode until then; a restart after ``kill -9`` replaces ``process`` and ``url``)."""
    from browser import start_server, stop_server

    root, log = tmp_path_factory.mktemp("workspaces"), tmp_path_factory.mktemp("log") / "streamlit.log"
    accounts = tmp_path_factory.mktemp("accounts") / "accounts.json"
    process, url = start_server(root, log, PRODSIM_ACCOUNTS=str(accounts))
    state = SimpleNamespace(root=root, log=log, accounts=accounts, process=process, url=url)
    yield state
    stop_server(state.process)


@pytest.fixture(scope="module")
def server(shared_server):
    return shared_server.url


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    from browser import ACTION_TIMEOUT_MS, ARTIFACTS, CHROMIUM

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(ACTION_TIMEOUT_MS)
        yield tab
        browser.close()


# --- pages through Streamlit's AppTest (tests/apptest.py) ---
@pytest.fixture
def app(root, monkeypatch):
    """The app on a first start; the demo is added but not read in the background (tests read it when they need to)."""
    from streamlit.testing.v1 import AppTest

    from apptest import TIMEOUT, NavigationOnlyPagesManager

    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    yield at
    from prodsim.jobs import runner

    runner().wait_all(timeout=600)  # no background work of one test runs on into the next


@pytest.fixture
def read_demo(app, root, text_encoder, image_encoder):
    """The app on the demo catalog after its products were read."""
    from prodsim import api

    api.prepare(api.Workspace(root / "demo-catalog"), text_encoder, image_encoder, grouping=False)
    return app
