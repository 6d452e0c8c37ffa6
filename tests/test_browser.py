"""The main journey in a real headless Chromium: open the demo, upload Flipkart with photos.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
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


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """The module's server: its workspaces folder, log, and an accounts file that does not exist until the team
    tests write it (single-user mode until then; a restart after ``kill -9`` replaces ``process`` and ``url``)."""
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

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(60_000)
        yield tab
        browser.close()


@pytest.mark.datasets
def test_demo_catalog_then_flipkart_upload_with_photos(server, page, tmp_path):
    page.goto(server)
    page.get_by_role("heading", name="Demo catalog").wait_for()
    page.get_by_text("Reading 'Demo catalog'").wait_for()  # a first start reads the demo in the background
    page.get_by_text(re.compile(r"^(Reading product texts|Looking at photos|Drawing the map|Finding groups): ")).wait_for()
    page.screenshot(path=ARTIFACTS / "01a-first-start-reading.png", full_page=True)
    page.get_by_text("All 244 products have been read").wait_for(timeout=300_000)
    page.get_by_text("Products most like this one").wait_for()
    wait_for_photos(page, 5)
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
    page.get_by_text("Photos: flipkart-images.zip").wait_for()  # the app has the whole archive, not a partial upload
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
    page.get_by_text(re.compile("^Looking at photos: ")).wait_for(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "06-reading-progress.png", full_page=True)
    page.get_by_text("All 1,050 products have been read by MiniLM-L6 · EfficientNet-Lite0").wait_for(timeout=180_000)
    page.screenshot(path=ARTIFACTS / "07-home-read.png", full_page=True)


@pytest.mark.datasets
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


def test_model_numbers_are_mapped_on_upload_and_explain_a_match(server, page, tmp_path):
    """Two shops list the same kettles under near-identical titles; only the model number (written differently by each)
    says which is which. The mapping form suggests it as an identifier, and the why panel shows the match."""
    rows = []
    for number in range(12):
        model = f"KX-{4100 + number * 7}{'ABCDEFGHJKLM'[number]}"
        for shop, written in (("north", model), ("south", model.lower().replace("-", " "))):
            rows.append({"id": f"{shop}-{number}", "title": f"Stainless steel electric kettle 1.7 l ({shop} shop)",
                         "seller": shop, "model number": written, "colour": ["silver", "black"][number % 2]})
    catalog = tmp_path / "kettles.csv"
    pd.DataFrame(rows).to_csv(catalog, index=False)
    page.goto(f"{server}/catalog")
    page.get_by_role("tab", name="Upload a catalog").click()
    page.locator("[data-testid='stFileUploader'] input[type='file']").nth(0).set_input_files(str(catalog))
    page.get_by_text("24 rows, 5 columns, read as utf-8").wait_for()
    identifiers = page.locator("[data-testid='stMultiSelect']").filter(has_text="Identifier columns")
    identifiers.get_by_text("model number").wait_for()  # guessed from the column's name
    page.locator("[data-testid='stMultiSelect']").filter(has_text="Attribute columns").get_by_text("colour").wait_for()
    identifiers.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.screenshot(path=ARTIFACTS / "20-upload-identifier-columns.png")
    page.get_by_role("button", name="Create workspace").click()
    page.get_by_text("Workspace 'kettles' is ready").wait_for(timeout=120_000)
    page.get_by_role("link", name="Home").click()
    page.get_by_role("button", name="Read 24 products").click()
    page.get_by_text("All 24 products have been read").wait_for(timeout=180_000)

    page.goto(f"{server}/neighbours?ws=kettles&product=north-3")
    page.get_by_text("Identifiers (a shared GTIN, MPN or model number means one product)").wait_for(timeout=180_000)
    # the other shop's listing of the same model comes first among eleven look-alikes of this shop, and is explained
    assert page.get_by_role("combobox", name="Compare with").input_value().endswith("(south shop) · south-3")
    page.get_by_text("Identifiers (a shared GTIN").evaluate("element => element.scrollIntoView({block: 'center'})")
    page.locator("[data-testid='stDataFrame']").last.wait_for()
    page.wait_for_timeout(1000)  # the tables are drawn into canvases
    page.screenshot(path=ARTIFACTS / "21-why-similar-model-number.png")


def test_next_weeks_file_shows_what_changed_files_new_products_and_the_filing_undoes_in_one_step(shared_server, page, tmp_path):
    """A reviewed catalog (every product accepted under its category, by the library as a reviewer would), then next
    week's file uploaded in the browser: the diff, the confirmed update, New arrivals, one undo, the export."""
    from prodsim import api
    from prodsim.review import FILED, ReviewStore

    demo = pd.read_csv(REPO / "assets" / "demo_catalog.csv", dtype=str, keep_default_na=False)
    demo.to_csv(tmp_path / "weekly.csv", index=False)
    workspace = api.ingest(tmp_path / "weekly.csv", workspace_dir=shared_server.root / "weekly").workspace
    api.prepare(workspace)
    store = ReviewStore(workspace)
    for category, ids in workspace.products().groupby("category")["id"]:
        store.accept(category, ids.tolist())
    week2 = demo.iloc[3:].copy()
    week2.loc[week2.index[0], "price"] = "1.00"
    twins = demo.iloc[[20, 60, 100, 140, 180, 220]]
    odd = pd.DataFrame({"id": ["ODD-1", "ODD-2"], "title": ["Concrete mixer 140 l, 550 W", "Wedding veil, ivory tulle, 3 m"]})
    week2 = pd.concat([week2, twins.assign(id=[f"NEW-{i}" for i in range(6)], title=twins["title"] + " (2027 edition)"), odd])
    week2 = week2.fillna("")
    week2.to_csv(tmp_path / "weekly.csv", index=False)

    page.goto(f"{shared_server.url}/catalog")
    page.get_by_role("tab", name="Upload a catalog").click()
    page.locator("[data-testid='stFileUploader'] input[type='file']").nth(0).set_input_files(str(tmp_path / "weekly.csv"))
    page.get_by_text("What this file changes in 'weekly'").wait_for()
    metrics = page.locator("[data-testid='stMetric']")
    wait_for(lambda: metrics.count() == 4)
    shown = [[part for part in metrics.nth(i).inner_text().split("\n") if part] for i in range(4)]
    assert shown == [["New", "8"], ["Removed", "3"], ["Changed", "1"], ["Unchanged", "240"]]
    assert store.assignments()["source"].eq(FILED).sum() == 0  # seeing the diff changed nothing
    page.get_by_role("heading", name="What this file changes in 'weekly'").evaluate("element => element.scrollIntoView()")
    page.screenshot(path=ARTIFACTS / "22-update-diff.png")
    page.get_by_role("button", name="Update 'weekly'").click()
    last = page.get_by_text(re.compile(r"Last upload .*8 new, 3 removed and 1 changed products"))
    last.wait_for(timeout=180_000)
    filed = store.assignments().query("source == @FILED")
    assert len(filed) >= 1
    last.evaluate("element => element.scrollIntoView({block: 'center'})")
    page.screenshot(path=ARTIFACTS / "23-update-home.png")

    page.goto(f"{shared_server.url}/categories?ws=weekly")  # a new session opens the first workspace by name otherwise
    page.get_by_role("tab", name="New arrivals").click(timeout=300_000)  # once the update's job has drawn the groups
    queue = api.new_arrivals(workspace)
    assert {"ODD-1", "ODD-2"} & set(queue["id"])  # nothing reviewed is like a concrete mixer or a wedding veil
    page.get_by_text(re.compile(f"^{len(queue):,} new products? the last upload could not file")).wait_for()
    first = workspace.products().set_index("id").at[queue["id"].iloc[0], "title"]
    page.get_by_text(f"{first} · {queue['id'].iloc[0]}").wait_for()  # least confident first
    page.screenshot(path=ARTIFACTS / "24-new-arrivals.png")
    page.get_by_role("tab", name="History and export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    exported = pd.read_csv(download.value.path(), dtype=str).set_index("id")
    assert set(exported.index[exported["source"] == FILED]) == set(filed["product_id"])
    page.get_by_role("button", name="Undo my last decision").click()
    wait_for(lambda: not store.assignments()["source"].eq(FILED).any())  # the whole filing, one step


def settled(tab) -> None:
    """Waits until the script run a click started has finished (Streamlit's running icon is gone)."""
    tab.wait_for_timeout(400)
    tab.locator("[data-testid^='stStatusWidgetRunning']").first.wait_for(state="detached", timeout=120_000)


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


def wait_for_photos(page, count: int) -> None:
    """Waits until ``count`` product photos (JPEG thumbnails, not placeholders) have loaded on the page."""
    page.wait_for_function("""n => [...document.querySelectorAll("img")].filter(
        i => i.complete && i.naturalWidth > 0 && i.currentSrc.includes("image/jpeg")).length >= n""", arg=count, timeout=60_000)


def read_demo(page, url: str) -> None:
    """Opens a fresh server, which reads the demo in the background, and waits until its products are read."""
    page.goto(url)
    page.get_by_text("All 244 products have been read").wait_for(timeout=300_000)


def test_map_lasso_categories_review_survive_reload_and_restart(page, tmp_path):
    root, log = tmp_path / "workspaces", tmp_path / "streamlit.log"
    process, url = start_server(root, log)
    try:
        read_demo(page, url)

        page.goto(f"{url}/search")
        page.get_by_label("What are you looking for?").fill("cordless kettle")
        page.get_by_label("What are you looking for?").press("Enter")
        page.get_by_text(re.compile(r"^\d+ products, best match first$")).wait_for(timeout=180_000)
        page.get_by_text(re.compile("Kettle")).first.wait_for()
        page.screenshot(path=ARTIFACTS / "12-search-phrase.png", full_page=True)

        page.goto(f"{url}/insights")  # the demo comes with an invented purchase log
        main = page.get_by_test_id("stMain")
        main.get_by_role("heading", name="Recommended").wait_for(timeout=180_000)
        main.get_by_text(re.compile("^(Similar product: looks like|Bought together: bought with)")).first.wait_for()
        page.wait_for_timeout(1500)
        page.screenshot(path=ARTIFACTS / "19-insights-recommendations.png", full_page=True)
        main.get_by_role("tab", name="Demand hints for new products").click()
        main.get_by_text("Units in its first 8 weeks").wait_for()
        main.locator(".js-plotly-plot").first.wait_for()
        page.wait_for_timeout(1500)
        page.screenshot(path=ARTIFACTS / "19b-insights-demand.png", full_page=True)

        page.goto(f"{url}/duplicates")
        first_pair = page.get_by_text(re.compile(r"^Pair 1 of [\d,]+ ·"))
        first_pair.wait_for(timeout=180_000)
        page.get_by_role("button", name="Same product").click()
        page.get_by_text(re.compile(r" 1 reviewed\.$")).wait_for(timeout=60_000)  # the decision is saved and shown
        page.locator("[data-testid^='stStatusWidgetRunning']").first.wait_for(state="detached", timeout=60_000)
        page.get_by_role("tab", name="Decisions").click()
        page.get_by_role("button", name="Download decisions (CSV)").wait_for()
        page.reload()
        page.get_by_role("tab", name="Decisions").click(timeout=180_000)
        page.get_by_role("button", name="Download decisions (CSV)").wait_for()  # the label survived the reload
        page.locator("td", has_text=re.compile("^duplicate$")).first.wait_for(state="attached")  # canvas grid: cells are hidden
        page.screenshot(path=ARTIFACTS / "13-duplicate-label-after-reload.png", full_page=True)

        page.goto(f"{url}/map")
        page.locator(".nsewdrag").first.wait_for(timeout=180_000)
        lasso(page, [(0.01, 0.01), (0.45, 0.01), (0.45, 0.99), (0.01, 0.99)])  # the left part of the map
        heading = page.get_by_text(re.compile(r"^\d+ selected products$"))
        heading.wait_for()
        selected = int(heading.inner_text().split()[0])
        assert 0 < selected < 244
        page.screenshot(path=ARTIFACTS / "09-map-lasso.png", full_page=True)
        page.get_by_label("Put them into the category").fill("Summer picks")
        page.get_by_role("button", name="Assign").click()
        page.get_by_text(f"Moved {selected} products to 'Summer picks'").wait_for()

        page.goto(f"{url}/categories")
        groups = page.get_by_test_id("stMain").locator("[data-testid='stExpander']")
        groups.first.wait_for(timeout=180_000)
        # Each step waits for its visible effect: a click made while the page is still rerunning can be lost.
        reviewed = page.get_by_text(re.compile("products reviewed"))

        def reviewed_count() -> int:
            """The count the page shows; while Streamlit swaps a rerun's elements in, the old caption can briefly sit
            beside the new one, and the higher count is the new one (counts only rise in these steps)."""
            return max((int(re.search(r"([\d,]+) of 244 products reviewed", text).group(1).replace(",", ""))
                        for text in reviewed.all_inner_texts()), default=0)


        def open_first_group() -> None:
            """Opens the first suggested group unless Streamlit kept it open from the last run."""
            if groups.nth(0).locator("details").get_attribute("open") is None:
                groups.nth(0).locator("summary").click()
            groups.nth(0).get_by_role("button", name=re.compile(r"^Accept [\d,]+ products")).wait_for()

        def header(number: int) -> str:
            return groups.nth(number).locator("summary").inner_text()

        def accept_until_shown(button, before: int, header_before: str) -> None:
            """Clicks Accept until the page shows the decision. A click that lands while Streamlit swaps the page's
            elements after the previous rerun can be dropped by the browser; clicking again is what a person does
            (a second click on an accepted group is refused and changes nothing)."""
            for _ in range(3):
                if button.count():
                    button.click()
                settled(page)
                try:
                    # The accepted group leaves the list; the next Accept must hit another group, not its stale button.
                    wait_for(lambda: reviewed_count() > before and header(0) != header_before, seconds=60)
                    return
                except AssertionError:
                    continue
            raise AssertionError("the page did not show the decision after three clicks")

        settled(page)
        before, first = reviewed_count(), header(0)
        open_first_group()
        groups.nth(0).get_by_label("Name", exact=True).fill("Kitchen & coffee")
        groups.nth(0).get_by_label("Name", exact=True).press("Enter")
        settled(page)
        groups.nth(0).get_by_role("button", name=re.compile("^Accept .* as 'Kitchen & coffee'")).wait_for()
        accept_until_shown(groups.nth(0).get_by_role("button", name=re.compile("^Accept .* as 'Kitchen & coffee'")), before, first)
        before, second = reviewed_count(), header(0)
        open_first_group()
        accept_until_shown(groups.nth(0).get_by_role("button", name=re.compile(r"^Accept [\d,]+ products")), before, second)
        page.get_by_role("tab", name="Reviewed categories").click()
        page.get_by_text(re.compile("^Kitchen & coffee —")).click()
        page.get_by_role("button", name="Merge").first.click()
        settled(page)
        page.get_by_text(re.compile("^Kitchen & coffee —")).wait_for(state="detached", timeout=60_000)
        page.get_by_role("button", name="Undo").click()  # takes the merge back
        settled(page)
        page.get_by_role("tab", name="Reviewed categories").click()
        page.get_by_text(re.compile("^Kitchen & coffee —")).wait_for()
        page.get_by_text(re.compile("^Summer picks —")).wait_for()
        page.screenshot(path=ARTIFACTS / "10-categories.png", full_page=True)

        page.reload()
        page.get_by_role("tab", name="Reviewed categories").click(timeout=180_000)
        page.get_by_text(re.compile("^Summer picks —")).wait_for()
    finally:
        stop_server(process)
    process, url = start_server(root, log)
    try:
        page.goto(f"{url}/categories")  # a bookmarked deep link as the restarted server's first request
        page.get_by_role("tab", name="History and export").click(timeout=180_000)
        page.get_by_test_id("stSidebar").get_by_text("Workspace", exact=True).wait_for()  # the app shell, not a bare page
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        exported = pd.read_csv(download.value.path(), dtype=str)
        assert len(exported) == 244 and set(exported.columns) >= {"id", "final_category", "source"}
        moved = exported[exported["source"] == "moved"]
        assert len(moved) == selected and (moved["final_category"] == "Summer picks").all()
        reviewed = exported[exported["source"] == "reviewed"]
        assert "Kitchen & coffee" in set(reviewed["final_category"]) and reviewed["final_category"].nunique() == 2
        page.screenshot(path=ARTIFACTS / "11-after-restart-export.png", full_page=True)
    finally:
        stop_server(process)


def test_guided_tour_read_only_demo_and_offline_report(page, tmp_path):
    root, log = tmp_path / "workspaces", tmp_path / "streamlit.log"
    process, url = start_server(root, log)
    try:
        read_demo(page, url)
        page.get_by_role("button", name="Take the guided tour").click()
        sidebar = page.get_by_test_id("stSidebar")
        main = page.get_by_test_id("stMain")
        steps = [("The catalog", "/catalog", main.get_by_text("244 of 244 products")),
                 ("The product map", "/map", main.locator(".nsewdrag")),
                 ("Suggested groups, reviewed", "/categories", main.locator("[data-testid='stExpander']")),
                 ("A product and its neighbours", "/neighbours", main.get_by_text("Shared words and codes")),
                 ("Duplicate listings", "/duplicates", main.get_by_text(re.compile(r"^Pair 1 of")))]
        for number, (title, path, ready) in enumerate(steps, 1):
            sidebar.get_by_text(f"Tour {number} of {len(steps)}: {title}").wait_for(timeout=180_000)
            page.wait_for_url(re.compile(re.escape(path)))
            ready.first.wait_for(timeout=180_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=ARTIFACTS / f"14-tour-{number}.png", full_page=True)
            if path == "/neighbours":
                assert "product=DEMO-0001" in page.url  # the step opens a product with its "why similar" panel
            if number < len(steps):
                sidebar.get_by_role("button", name="Next").click()
        sidebar.get_by_role("button", name="Back").click()
        sidebar.get_by_text("Tour 4 of 5: A product and its neighbours").wait_for()
        sidebar.get_by_role("button", name="End").click()
        sidebar.get_by_text(re.compile("^Tour ")).wait_for(state="detached")
    finally:
        stop_server(process)

    process, url = start_server(root, log, PRODSIM_READ_ONLY="1")
    try:
        page.goto(f"{url}/categories")
        page.get_by_test_id("stSidebar").get_by_text(re.compile("^Read-only mode")).wait_for(timeout=180_000)
        groups = page.get_by_test_id("stMain").locator("[data-testid='stExpander']")
        groups.first.wait_for(timeout=180_000)
        if groups.first.locator("details").get_attribute("open") is None:  # the first group opens by itself
            groups.first.locator("summary").click()
        accept = groups.first.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products"))
        assert accept.is_disabled() and page.get_by_role("button", name="Undo").is_disabled()
        page.screenshot(path=ARTIFACTS / "15-read-only-categories.png", full_page=True)
    finally:
        stop_server(process)

    report = tmp_path / "report.html"
    printed = subprocess.run([sys.executable, "-m", "prodsim", "report", "--workspace", str(root / "demo-catalog"), "--out", str(report)],
                             capture_output=True, text=True, cwd=REPO, check=True, env={**os.environ, "PRODSIM_READ_ONLY": "1"})
    assert json.loads(printed.stdout)["bytes"] == report.stat().st_size
    context = page.context.browser.new_context(offline=True, viewport={"width": 1300, "height": 1000})
    offline = context.new_page()
    offline.goto(report.as_uri())
    offline.locator("#prodsim-map .main-svg").first.wait_for()
    offline.get_by_role("heading", name="Categories").wait_for()
    assert offline.locator("table.table tbody tr").count() >= 2
    offline.screenshot(path=ARTIFACTS / "16-report-offline.png", full_page=True)
    context.close()


# --- the team server: sign-in, two reviewers at once, ten sessions, kill -9 (the module's server, accounts from here on) ---
TEAM = {"ann": "reviewer", "ben": "reviewer", "vic": "viewer"}


def read_workspace(server, folder: str, name: str):
    """A workspace of the demo catalog (text only) on the shared server, read with its map and groups; and its decisions."""
    from prodsim import api
    from prodsim.review import ReviewStore

    workspace = api.ingest(REPO / "assets" / "demo_catalog.csv", workspace_dir=server.root / folder, name=name).workspace
    api.prepare(workspace)
    return workspace, ReviewStore(workspace)


def test_category_tree_load_file_expand_accept_move_and_export_paths(shared_server, page):
    """A person's own tree on the demo products: load it, file, open a level, accept a parent, move a product between
    leaves, download the paths."""
    workspace, store = read_workspace(shared_server, "tree-demo", "Tree demo")
    page.goto(f"{shared_server.url}/category_tree?ws={workspace.slug}")
    main = page.get_by_test_id("stMain")
    main.get_by_text("Load your category tree").wait_for(timeout=180_000)
    main.locator("input[type='file']").set_input_files(str(REPO / "assets" / "demo_category_tree.txt"))
    settled(page)
    page.screenshot(path=ARTIFACTS / "25a-tree-upload.png", full_page=True)
    main.get_by_role("button", name="Load this tree").click()
    main.get_by_text(re.compile(r"24 leaves")).first.wait_for()
    main.get_by_role("button", name="File products into the tree").click()
    main.get_by_text(re.compile(r"^244 products filed")).wait_for(timeout=300_000)
    settled(page)
    page.screenshot(path=ARTIFACTS / "25-tree-top-level.png", full_page=True)

    def row(name: str):
        return main.locator("[data-testid='stHorizontalBlock']").filter(has=page.get_by_text(name, exact=True)).filter(
            has_text="products ·").first

    row("Electronics").get_by_role("button", name="Open").click()
    row("Headphones & Audio").wait_for()
    settled(page)
    page.screenshot(path=ARTIFACTS / "26-tree-electronics-open.png", full_page=True)
    row("Headphones & Audio").get_by_role("button", name="Accept").click()
    wait_for(lambda: len(store.assignments()) > 0)
    accepted = set(store.groups()["name"])
    assert all(name.startswith("Electronics > Headphones & Audio > ") for name in accepted)
    settled(page)

    main.get_by_label("Find products").fill("Halvorsen Countertop Blender")
    main.get_by_label("Find products").press("Enter")
    settled(page)
    picker = main.get_by_test_id("stMultiSelect").locator("input")
    picker.click()
    picker.press_sequentially("Halvorsen Countertop")
    picker.press("Enter")
    page.keyboard.press("Escape")
    settled(page)
    main.get_by_test_id("stMultiSelect").get_by_text(re.compile("^Halvorsen Countertop Blender")).first.wait_for()
    main.get_by_label("Find the leaf").fill("blenders")
    main.get_by_label("Find the leaf").press("Enter")
    settled(page)
    leaf = main.get_by_test_id("stSelectbox").filter(has_text="To the leaf").locator("input")
    leaf.click()
    leaf.press_sequentially("Blenders")
    leaf.press("Enter")
    settled(page)
    main.get_by_role("button", name="Move", exact=True).click()
    wait_for(lambda: store.assignments()["source"].eq("moved").any())
    settled(page)
    page.screenshot(path=ARTIFACTS / "27-tree-after-move.png", full_page=True)

    main.get_by_role("tab", name="Export").click()
    with page.expect_download() as download:
        main.get_by_role("button", name="Download CSV").click()
    exported = pd.read_csv(download.value.path(), dtype=str)
    assert len(exported) == 244 and list(exported.columns[:6]) == ["id", "title", "path", "level_1", "level_2", "level_3"]
    moved = exported[exported["source"] == "moved"]
    assert len(moved) and moved["title"].str.startswith("Halvorsen Countertop Blender").all()
    assert (moved["path"] == "Home & Kitchen > Kitchen Appliances > Blenders & Mixers").all()
    assert (exported["path"] == exported["level_1"] + " > " + exported["level_2"] + " > " + exported["level_3"]).all()
    assert set(exported.loc[exported["source"] == "reviewed", "level_2"]) == {"Headphones & Audio"}


def test_categories_walk_suggested_levels_accept_a_sub_group_and_export_level_columns(shared_server, page):
    """The suggested groups as a tree: open a group's sub-groups, accept one under its path, see it in Reviewed
    categories with the level below it, download the final categories with a column per level."""
    workspace, store = read_workspace(shared_server, "levels-demo", "Levels demo")
    page.goto(f"{shared_server.url}/categories?ws={workspace.slug}")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name=re.compile(r"^Open its \d+ sub-groups")).first.click(timeout=180_000)
    main.get_by_role("button", name="All groups").wait_for()
    settled(page)
    main.get_by_role("button", name="All groups").scroll_into_view_if_needed()  # the breadcrumbs above the sub-groups
    page.screenshot(path=ARTIFACTS / "28-categories-sub-groups.png", full_page=True)
    accept = main.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products as '.+ > .+'")).first
    path = re.search(r"as '(.+)'$", accept.inner_text()).group(1)
    accept.click()
    wait_for(lambda: path in set(store.groups()["name"]))
    settled(page)
    main.get_by_role("tab", name="Reviewed categories").click()
    parent = path.split(" > ")[0]
    main.get_by_text(re.compile(f"^{re.escape(parent)} — [\\d,]+ products in 1 category below it")).click()
    main.get_by_role("button", name="Open the 1 category below").click()
    main.get_by_role("button", name="All categories").wait_for(timeout=180_000)  # the level below is drawn by a rerun that is slow on a loaded machine
    settled(page)
    page.screenshot(path=ARTIFACTS / "29-reviewed-categories-level-2.png", full_page=True)
    main.get_by_role("tab", name="History and export").click()
    with page.expect_download() as download:
        main.get_by_role("button", name="Download CSV").click()
    exported = pd.read_csv(download.value.path(), dtype=str, keep_default_na=False)
    reviewed = exported[exported["source"] == "reviewed"]
    assert len(exported) == 244 and list(exported.columns[2:5]) == ["final_category", "level_1", "level_2"]
    assert len(reviewed) and (reviewed["final_category"] == path).all()
    assert (reviewed["final_category"] == reviewed["level_1"] + " > " + reviewed["level_2"]).all()


def password(name: str) -> str:
    return f"{name}-secret-pass"


@pytest.fixture(scope="module")
def team(shared_server, page):
    """The module's server with an accounts file, after its first start added the demo; a second small workspace."""
    page.goto(shared_server.url)  # a no-op when the journeys above ran: the first visit adds the demo
    page.get_by_role("heading", name="Demo catalog").wait_for(timeout=120_000)
    from prodsim import access
    from prodsim.accounts import Accounts
    from prodsim.demo import DEMO_CATALOG

    accounts = Accounts(shared_server.accounts)
    for name, role in TEAM.items():
        accounts.add(name, password(name), role)
    from prodsim import api

    with access.acting_as(access.local_operator()):  # the operator, as with the CLI
        api.ingest(b"".join(DEMO_CATALOG.read_bytes().splitlines(keepends=True)[:31]), workspace_dir=shared_server.root / "small-shop",
                   catalog_name="small.csv", name="Small shop")
    return shared_server


def signed_in(browser, url: str, name: str, path: str = ""):
    """A new browser session (its own context) signed in as ``name`` on the page at ``path``."""
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(f"{url}/{path}")
    tab.get_by_label("User name").fill(name)
    tab.get_by_label("Password", exact=True).fill(password(name))
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_test_id("stSidebar").get_by_text(f"Signed in as {name}").wait_for(timeout=180_000)
    return tab


def open_page(tab, title: str) -> None:
    """Opens a page from the sidebar, as a person does (an address typed anew would be a new session)."""
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def test_sign_in_then_two_reviewers_on_one_group_lose_nothing_and_undo_only_their_own(team, page):
    from prodsim.review import ReviewStore
    from prodsim.workspace import Workspace

    browser = page.context.browser
    login = browser.new_page(viewport={"width": 1300, "height": 900})
    login.goto(team.url)
    login.get_by_role("heading", name="Sign in to prodsim").wait_for()
    login.get_by_label("User name").fill("ann")
    login.get_by_label("Password", exact=True).fill("a wrong password")
    login.get_by_role("button", name="Sign in").click()
    login.get_by_text("That user name and password do not match.").wait_for()
    login.screenshot(path=ARTIFACTS / "20-sign-in.png", full_page=True)
    login.close()

    ann, ben = signed_in(browser, team.url, "ann"), signed_in(browser, team.url, "ben")
    ann.get_by_text("All 244 products have been read").wait_for(timeout=300_000)
    store = ReviewStore(Workspace(team.root / "demo-catalog"))
    for tab in (ann, ben):
        open_page(tab, "Categories")
    accepts = [tab.get_by_test_id("stMain").locator("[data-testid='stExpander']").first.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products"))
               for tab in (ann, ben)]
    for button, tab in zip(accepts, (ann, ben)):
        button.wait_for(timeout=300_000)  # the first visit draws the map and the groups
        settled(tab)
    assert accepts[0].inner_text() == accepts[1].inner_text()  # both look at the same suggested group
    started = time.monotonic()
    accepts[0].click()
    accepts[1].click()
    both_clicked = time.monotonic() - started
    wait_for(lambda: len(store.log()) >= 1)
    for tab in (ann, ben):
        settled(tab)
    log = store.log()
    assert len(log) == 1 and log["action"].tolist() == ["accept"]  # one landed whole, the other was refused
    winner = log["actor"].iloc[0]
    loser_tab = ben if winner == "ann" else ann
    refusal = loser_tab.get_by_test_id("stMain").get_by_text(re.compile("nothing was changed"))
    refusal.first.wait_for()
    print(f"two accepts {both_clicked * 1000:.0f} ms apart: {winner}'s landed; the other saw: {refusal.first.inner_text()[:160]}")

    loser = "ben" if winner == "ann" else "ann"
    next_accept = loser_tab.get_by_test_id("stMain").locator("[data-testid='stExpander']").first.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products"))
    next_accept.click()
    wait_for(lambda: len(store.log()) == 2)
    settled(loser_tab)
    winner_tab = ann if winner == "ann" else ben
    winner_tab.get_by_role("button", name="Undo my last decision").click()
    wait_for(lambda: store.log().set_index("actor")["undone"].to_dict() == {winner: 1, loser: 0})
    loser_tab.get_by_role("button", name="Undo my last decision").click()
    wait_for(lambda: store.log()["undone"].tolist() == [1, 1])
    settled(loser_tab)
    loser_tab.get_by_role("button", name="Redo").click()  # the loser's decision back, so the history shows both at work
    wait_for(lambda: store.log().set_index("actor")["undone"].to_dict() == {winner: 1, loser: 0})
    settled(winner_tab)
    winner_tab.get_by_role("tab", name="History and export").click()
    winner_tab.get_by_test_id("stMain").get_by_role("button", name="Download CSV").wait_for()
    winner_tab.locator("td", has_text=re.compile(f"^{loser}$")).first.wait_for(state="attached")  # the history names both
    winner_tab.locator("td", has_text=re.compile(f"^{winner}$")).first.wait_for(state="attached")
    winner_tab.wait_for_timeout(800)
    winner_tab.screenshot(path=ARTIFACTS / "21-history-two-names.png", full_page=True)

    vic = signed_in(browser, team.url, "vic")
    open_page(vic, "Categories")
    group = vic.get_by_test_id("stMain").locator("[data-testid='stExpander']").first
    group.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products")).wait_for()
    assert group.get_by_role("button", name=re.compile(r"^Accept [\d,]+ products")).is_disabled()
    assert vic.get_by_role("button", name="Undo my last decision").is_disabled()
    wait_for_photos(vic, 8)
    vic.screenshot(path=ARTIFACTS / "22-viewer-categories.png", full_page=True)
    for tab in (ann, ben, vic):
        tab.context.close()


def server_memory(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 1e9


def test_ten_sessions_share_one_copy_of_each_model_and_keep_their_own_workspace_and_filter(team, page):
    from prodsim.workspace import Workspace

    words = ["kettle", "toaster", "blender", "mug", "lamp"]
    shops = {"demo-catalog": Workspace(team.root / "demo-catalog").products(), "small-shop": Workspace(team.root / "small-shop").products()}
    before = server_memory(team.process.pid)
    sessions = []
    for number in range(10):
        slug, word = list(shops)[number % 2], words[number // 2]
        tab = signed_in(page.context.browser, team.url, "vic", path=f"catalog?ws={slug}")
        tab.get_by_label("Filter by title, brand or id").fill(word)
        tab.get_by_label("Filter by title, brand or id").press("Enter")
        sessions.append((tab, slug, word))
    after = server_memory(team.process.pid)
    for tab, slug, word in sessions:  # each session still shows its own workspace and filter after the others acted
        products = shops[slug]
        text = products["title"] + " " + products["brand"] + " " + products["id"]
        expected = int(text.str.contains(word, case=False, regex=False).sum())
        tab.get_by_text(f"{expected:,} of {len(products):,} products").wait_for()
        assert tab.get_by_label("Filter by title, brand or id").input_value() == word
    loaded = re.findall(r"loading the text model (\S+)", team.log.read_text())
    loads = max(map(loaded.count, loaded), default=0)  # the most loads of any one model (filing into a tree adds USE)
    print(f"server RSS: {before:.2f} GB before the 10 sessions, {after:.2f} GB with them; text model loads in its log: {loads}")
    (ARTIFACTS / "ten-sessions.json").write_text(json.dumps({"rss_gb_before": before, "rss_gb_with_10": after, "text_model_loads": loads}))
    assert loads == 1  # one copy of each model per server process, whatever the number of sessions
    sessions[0][0].screenshot(path=ARTIFACTS / "23-session-one-of-ten.png", full_page=True)
    for tab, _, _ in sessions:
        tab.context.close()


def test_decisions_the_page_confirmed_survive_kill_9_in_a_burst(team, page):
    from prodsim.pair_labels import PairLabels
    from prodsim.workspace import Workspace

    labels = PairLabels(Workspace(team.root / "demo-catalog"))
    ann = signed_in(page.context.browser, team.url, "ann")
    open_page(ann, "Duplicates")
    main = ann.get_by_test_id("stMain")
    main.get_by_text(re.compile(r"^Pair 1 of [\d,]+ ·")).wait_for(timeout=180_000)
    settled(ann)
    reviewed = main.get_by_text(re.compile(r" [\d,]+ reviewed\.$"))
    start = int(re.search(r"([\d,]+) reviewed", reviewed.inner_text()).group(1))
    confirmed = start
    for _ in range(6):  # a burst: each click as soon as the page confirms the one before
        main.get_by_role("button", name="Different products").click()
        confirmed += 1
        main.get_by_text(re.compile(rf" {confirmed} reviewed\.$")).wait_for()
    main.get_by_role("button", name="Different products").click()  # one more in flight
    team.process.kill()  # SIGKILL: no shutdown, no flush
    team.process.wait(timeout=30)
    ann.context.close()
    import sqlite3

    with sqlite3.connect(team.root / "demo-catalog" / "prodsim.db") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = len(labels.labels())
    print(f"kill -9 after {confirmed - start} confirmed decisions (+1 in flight): {stored - start} stored")
    assert stored >= confirmed  # every decision the page confirmed is there (the one in flight may or may not be)
    team.process, team.url = start_server(team.root, team.log, PRODSIM_ACCOUNTS=str(team.accounts))
    ann = signed_in(page.context.browser, team.url, "ann")
    open_page(ann, "Duplicates")
    ann.get_by_test_id("stMain").get_by_text(re.compile(rf" {stored} reviewed\.$")).wait_for(timeout=180_000)
    ann.context.close()

