"""The main journey in a real headless Chromium: open the demo, upload Flipkart with photos.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import FLIPKART, REPO, make_zip

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="Debian chromium is not installed"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PRODSIM_WORKSPACES": str(tmp_path_factory.mktemp("workspaces"))}
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


def test_demo_catalog_then_flipkart_upload_with_photos(server, page, tmp_path):
    page.goto(server)
    page.get_by_role("heading", name="Demo catalog").wait_for()
    page.get_by_text("Read 244 products").wait_for()
    page.screenshot(path=ARTIFACTS / "01-home-demo.png", full_page=True)

    page.goto(f"{server}/catalog")
    page.get_by_text("244 of 244 products").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    page.screenshot(path=ARTIFACTS / "02-catalog-demo.png", full_page=True)

    archive = tmp_path / "flipkart-images.zip"
    archive.write_bytes(make_zip({p.name: p.read_bytes() for p in sorted((FLIPKART / "images").iterdir())}))
    page.get_by_role("tab", name="Upload a catalog").click()
    uploads = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploads.nth(0).set_input_files(str(FLIPKART / "products.csv"))
    page.get_by_text("1,050 rows, 11 columns, read as utf-8").wait_for()
    uploads.nth(1).set_input_files(str(archive))
    page.get_by_text("flipkart-images.zip").wait_for()
    page.screenshot(path=ARTIFACTS / "03-upload-mapping.png", full_page=True)
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("1,047 products have a photo; 3 have none.").wait_for(timeout=180_000)  # a cold machine is slow once
    page.get_by_text("1,050 of 1,050 rows became products.").wait_for()
    page.get_by_text("Workspace 'products' is ready").wait_for()
    page.screenshot(path=ARTIFACTS / "04-quality-report.png", full_page=True)

    page.get_by_role("tab", name="Products").click()
    page.get_by_text("1,050 of 1,050 products").wait_for()
    page.wait_for_timeout(1500)  # thumbnails are drawn into the grid's canvas
    page.screenshot(path=ARTIFACTS / "05-flipkart-products.png", full_page=True)

    page.get_by_role("link", name="Home").click()
    page.get_by_role("button", name="Read 1,050 products and 1,047 photos").click()
    page.get_by_text("Looking at photos").wait_for()
    page.screenshot(path=ARTIFACTS / "06-reading-progress.png", full_page=True)
    page.get_by_text("All 1,050 products have been read by MiniLM-L6 · EfficientNet-Lite0").wait_for(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "07-home-read.png", full_page=True)


def test_neighbours_with_photos_focus_and_back_button(server, page):
    first_id = "55b85ea15a1536d46b7190ad6fff8ce7"  # Flipkart's first product, read in the test above
    page.goto(f"{server}/neighbours?ws=products&product={first_id}")
    page.get_by_text("Shared words and codes").wait_for(timeout=180_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=ARTIFACTS / "08-neighbours-photos.png", full_page=True)
    page.get_by_role("button", name="Similar products").nth(0).click()
    page.wait_for_url(lambda url: first_id not in url)
    page.get_by_text("Shared words and codes").wait_for()
    page.go_back()
    page.wait_for_url(lambda url: first_id in url)
    page.get_by_text(f"id {first_id}").first.wait_for()
