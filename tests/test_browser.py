"""The main journeys in a real headless Chromium: open the demo, upload Flipkart with photos, model numbers on
upload and in the why panel, next week's file.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from browser import ARTIFACTS, MARKS, screenshot_when_drawn, settled, wait_for, wait_for_photos
from conftest import FLIPKART, REPO, make_zip

pytestmark = MARKS


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
    screenshot_when_drawn(page, "05-flipkart-products.png")  # thumbnails are drawn into the grid's canvas

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
    screenshot_when_drawn(page, "08-neighbours-photos.png")
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
    page.get_by_text("Workspace 'kettles' is ready").wait_for()
    page.get_by_role("link", name="Home").click()
    page.get_by_role("button", name="Read 24 products").click()
    page.get_by_text("All 24 products have been read").wait_for(timeout=180_000)

    page.goto(f"{server}/neighbours?ws=kettles&product=north-3")
    page.get_by_text("Identifiers (a shared GTIN, MPN or model number means one product)").wait_for(timeout=180_000)
    # the other shop's listing of the same model comes first among eleven look-alikes of this shop, and is explained
    assert page.get_by_role("combobox", name="Compare with").input_value().endswith("(south shop) · south-3")
    page.locator("[data-testid='stDataFrame']").last.wait_for()
    page.get_by_text("Same colour.").wait_for()  # no brand, category or price in this file: only what both fill is named
    settled(page)
    # scrolled last: the tables drawn above it move the panel down
    page.get_by_text("Identifiers (a shared GTIN").evaluate("element => element.scrollIntoView({block: 'start'})")
    screenshot_when_drawn(page, "21-why-similar-model-number.png", full_page=False)

    # searching for the model number as neither shop wrote it: the two listings that carry it come first
    page.goto(f"{server}/search?ws=kettles")
    page.get_by_label("What are you looking for?").fill("KX4121D")
    page.get_by_label("What are you looking for?").press("Enter")
    page.get_by_text("2 carry the GTIN, MPN or model number you typed, so they come first").wait_for()
    # the caption is drawn before the cards under it: wait for the cards and for the run to end before reading them
    cards = page.get_by_text(re.compile(r"^id (north|south)-"))
    cards.nth(1).wait_for()
    settled(page)
    first_two = {text.splitlines()[0] for text in cards.all_inner_texts()[:2]}
    assert first_two == {"id north-3", "id south-3"}
    page.screenshot(path=ARTIFACTS / "21b-search-model-number.png")


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
    settled(page)  # the form is drawn to its end (the button is above nothing else), so the click starts a fresh run
    page.get_by_role("button", name="Update 'weekly'").click()
    # the update started and the page moved to Home, where it shows the progress and then the outcome
    page.get_by_role("heading", name="What this file changes in 'weekly'").wait_for(state="detached")
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

