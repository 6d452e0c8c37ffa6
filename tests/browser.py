"""What the browser journeys share: starting a server on a free port, and waiting on what the page shows.

The ``shared_server``, ``server`` and ``page`` fixtures (one server and one Chromium per test module) are in
conftest.py; screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import deque
from pathlib import Path

import pytest

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
# The longest a click or a wait for what the page shows may take before a journey fails (a normal step takes
# 1-3 s): two test workers share the 2 cores with the app servers, and a slower CPU must not fail on load alone.
ACTION_TIMEOUT_MS = 120_000
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian chromium is not installed"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(root: Path, log_path: Path, **extra_env: str) -> tuple[subprocess.Popen, str]:
    """Starts `streamlit run app.py` on a free port with its own workspaces folder; returns (process, url)."""
    port = free_port()
    env = {**os.environ, "PRODSIM_WORKSPACES": str(root), **extra_env}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true"], cwd=REPO, env=env, stdout=log_path.open("a"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail("streamlit did not start within 60 s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # busy in native code (a model or UMAP compiling): a restart must not wait on it
        process.kill()
        process.wait(timeout=20)


def settled(tab) -> None:
    """Waits until the script run a click started has finished (Streamlit's running icon is gone)."""
    tab.wait_for_timeout(400)
    tab.locator("[data-testid^='stStatusWidgetRunning']").first.wait_for(state="detached", timeout=ACTION_TIMEOUT_MS)


def choose(tab, widget, typed: str, option) -> None:
    """Picks an option of a selectbox or multiselect as a person does, following the page: waits until the widget
    offers options (Streamlit disables one with none, as before the search above it has run), types, clicks the option
    once the list shows it, and waits until the widget shows the choice. Pressing Enter on what was typed instead
    chose nothing when the options had not arrived yet, and the journey then waited on a disabled button."""
    from playwright.sync_api import expect

    box = widget.locator("input")
    expect(box).to_be_enabled(timeout=ACTION_TIMEOUT_MS)
    box.click()
    box.press_sequentially(typed)
    tab.get_by_role("option", name=option).first.click(timeout=ACTION_TIMEOUT_MS)
    if widget.get_attribute("data-testid") == "stMultiSelect":
        tab.keyboard.press("Escape")  # a multiselect keeps its list open; on a selectbox Escape would clear the choice
        settled(tab)
        widget.get_by_text(option).first.wait_for(timeout=ACTION_TIMEOUT_MS)
    else:  # a selectbox shows its choice as the value of its input
        settled(tab)
        expect(box).to_have_value(option, timeout=ACTION_TIMEOUT_MS)


def wait_for(condition, seconds: float = 120) -> None:
    """Polls what the page shows or the workspace holds (the app's state), not a clock budget."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the page or the workspace did not reach the expected state"
        time.sleep(0.25)


def lasso(page, fractions: list[tuple[float, float]]) -> None:
    """Draws a lasso on the plotly chart through points given as fractions of its drag area."""
    area = page.locator(".nsewdrag").first.bounding_box()
    points = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in fractions]
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:] + points[:1]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()


def screenshot_when_drawn(tab, name: str, full_page: bool = True) -> None:
    """Saves a screenshot for a person to look at once the page is drawn: the script run has ended and three captures
    a quarter second apart are alike. Grid canvases, photos and charts are painted after the run ends, at a pace
    that depends on the machine, so the page's own stillness decides when, not a fixed pause."""
    tab.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(timeout=ACTION_TIMEOUT_MS)
    captures = deque([tab.screenshot(full_page=full_page, animations="disabled")], maxlen=3)  # the last three only
    deadline = time.monotonic() + 60
    while len(captures) < 3 or len(set(captures)) > 1:
        assert time.monotonic() < deadline, f"the page kept changing for 60 s before screenshot {name}"
        time.sleep(0.25)
        captures.append(tab.screenshot(full_page=full_page, animations="disabled"))
    (ARTIFACTS / name).write_bytes(captures[-1])


def wait_for_photos(page, count: int) -> None:
    """Waits until ``count`` product photos (JPEG thumbnails, not placeholders) have loaded on the page."""
    page.wait_for_function("""n => [...document.querySelectorAll("img")].filter(
        i => i.complete && i.naturalWidth > 0 && i.currentSrc.includes("image/jpeg")).length >= n""", arg=count, timeout=ACTION_TIMEOUT_MS)


def read_demo(page, url: str) -> None:
    """Opens a fresh server, which reads the demo in the background, and waits until its products are read."""
    page.goto(url)
    page.get_by_text("All 244 products have been read").wait_for(timeout=300_000)



def read_workspace(server, folder: str, name: str):
    """A workspace of the demo catalog (text only) on the shared server, read with its map and groups; and its decisions."""
    from prodsim import api
    from prodsim.review import ReviewStore

    workspace = api.ingest(REPO / "assets" / "demo_catalog.csv", workspace_dir=server.root / folder, name=name).workspace
    api.prepare(workspace)
    return workspace, ReviewStore(workspace)
