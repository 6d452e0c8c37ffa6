"""The dashboard at a platform's size, in a real browser: seconds per page and action, bytes sent, memory.

Usage: python bench/app_scale.py --n 35000 [--n 100000 ...] [--synthetic-vectors] [--keep DIR]

How the data is made (printed in the output too):
- up to 35,311 products: PriceRunner's real offers (title, merchant as seller, category), first n rows;
- above: every real offer again as other sellers would list it (a shop's title style: "BRAND ... - NEW",
  "... | Free Delivery", "... (genuine)", "[Brand] ... - Fast Dispatch") and as a variant (a colour or size
  word added), ids ``<offer>-<copy>``, merchants drawn at random;
- vectors: read by the app's own text model (text only, the machine's automatic path), or with
  ``--synthetic-vectors`` (the default at 1M and above) the real vector of the offer each copy came from plus
  Gaussian noise (sigma 0.02 per coordinate, renormalised: cosine about 0.9 to its original), so families of
  copies sit together as real rewrites do without reading a million titles;
- a purchase log of 20,000 invented purchases (2,000 customers over 300 days) for the Insights page.

Then ``streamlit run app.py`` serves the workspace and headless Chromium opens every page by its address (a first
visit: a new browser session) and does the main actions, then switches between all pages twice through the sidebar
as a user does (the second round is reported as "page switch"); each step waits for the page's own "ready" mark and for Streamlit's
run to finish. Bytes are the WebSocket frames the browser received during the step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, REPO, cpu_info

STYLES = ["{brand} {rest} - NEW", "{title} | Free Delivery", "{rest} by {brand}", "{title} (genuine)", "[{brand}] {rest} - Fast Dispatch"]
VARIANTS = ["black", "white", "silver", "blue", "red", "64GB", "128GB", "XL", "2-pack", "refurbished"]
CHROMIUM = "/usr/bin/chromium"


def make_catalog(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """(catalog, index of the real offer each row came from)."""
    offers = pd.read_csv(DATASETS / "pricerunner" / "offers.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    if n <= len(offers):
        source = np.arange(n)
    else:
        source = np.concatenate([np.arange(len(offers)), rng.integers(0, len(offers), n - len(offers))])
    titles = offers["product_title"].to_numpy()[source].copy()
    copies = np.arange(n) >= len(offers)
    for row in np.flatnonzero(copies):
        title = titles[row]
        brand, _, rest = title.partition(" ")
        if rng.random() < 0.4:
            titles[row] = f"{title} {VARIANTS[rng.integers(len(VARIANTS))]}"
        else:
            titles[row] = STYLES[rng.integers(len(STYLES))].format(brand=brand.upper() if rng.random() < 0.3 else brand,
                                                                  rest=rest, title=title)
    catalog = pd.DataFrame({
        "id": [f"{offers['product_id'].iat[s]}-{i}" if c else offers["product_id"].iat[s] for i, (s, c) in enumerate(zip(source, copies))],
        "title": titles, "category": offers["category_label"].to_numpy()[source],
        "seller": np.where(copies, rng.integers(0, 306, n).astype(str), offers["merchant_id"].to_numpy()[source])})
    return catalog, source


def build_workspace(n: int, root: Path, synthetic: bool) -> dict:
    """Ingests, reads and attaches a log; returns what was done and how long it took."""
    from prodsim import api
    from prodsim.embedding import product_texts
    from prodsim.vector_cache import open_cache

    catalog, source = make_catalog(n)
    path = root / f"catalog-{n}.csv"
    catalog.to_csv(path, index=False)
    started = time.perf_counter()
    workspace = api.ingest(path, workspace_dir=root / "workspaces" / "scale", name=f"Scale {n:,}",
                           mapping={"id": "id", "title": "title", "category": "category", "seller": "seller"}).workspace
    ingest_s = time.perf_counter() - started
    encoder = api.load_text_encoder()
    started = time.perf_counter()
    if synthetic:
        _, keys = product_texts(workspace, api.load_settings(workspace).template())
        originals = encoder.encode(pd.read_csv(DATASETS / "pricerunner" / "offers.csv", dtype=str)["product_title"].astype(str).tolist())
        rng, cache = np.random.default_rng(1), open_cache(workspace.vectors_dir, encoder.fingerprint, encoder.dim)
        for start in range(0, n, 65_536):
            block = originals[source[start:start + 65_536]] + 0.02 * rng.normal(size=(len(source[start:start + 65_536]), encoder.dim))
            cache.add(keys[start:start + 65_536], (block / np.linalg.norm(block, axis=1, keepdims=True)).astype(np.float32))
    else:
        api.embed(workspace, encoder, use_images=False)
    embed_s = time.perf_counter() - started
    from prodsim.lexical_store import lexical_views

    started = time.perf_counter()
    lexical_views(workspace)  # the reading job's next stage (api.prepare), kept in the workspace
    lexical_s = time.perf_counter() - started
    rng = np.random.default_rng(2)
    log = pd.DataFrame({"customer": rng.integers(0, 2_000, 20_000), "product": catalog["id"].to_numpy()[rng.integers(0, n, 20_000)],
                        "date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 20_000), unit="D")).astype(str),
                        "quantity": 1})
    log.to_csv(root / "log.csv", index=False)
    api.attach_behaviour(workspace, root / "log.csv")
    return {"products": n, "vectors": "synthetic (real vector of the source offer + noise)" if synthetic else "read by the app's model",
            "ingest_seconds": round(ingest_s, 1), "vectors_seconds": round(embed_s, 1), "lexical_views_seconds": round(lexical_s, 1), "encoder": f"{encoder.runtime} {encoder.precision}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerMemory(threading.Thread):
    """Samples the server's resident memory (with its children) every half second; keeps the peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.process, self.peak, self.now, self.stop = psutil.Process(pid), 0, 0, threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                rss = self.process.memory_info().rss + sum(c.memory_info().rss for c in self.process.children(recursive=True))
                self.peak, self.now = max(self.peak, rss), rss
            except psutil.Error:
                pass
            time.sleep(0.5)


def drive(url: str, n: int, timeout_s: float, screens: Path, memory: ServerMemory) -> dict:
    """Every page twice and the main actions; returns seconds, bytes and the browser's JS heap per step.
    A screenshot of the page after each step goes to ``screens``."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--enable-precise-memory-info"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(timeout_s * 1000)
        received = [0]
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.__setitem__(
            0, received[0] + len(frame if isinstance(frame, (bytes, str)) else b""))))

        def settle() -> None:
            page.wait_for_timeout(300)
            page.locator("[data-testid^='stStatusWidgetRunning']").first.wait_for(state="detached")

        def step(name: str, action) -> None:
            received[0] = 0
            started = time.perf_counter()
            action()
            settle()
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : null")
            results[name] = {"seconds": round(time.perf_counter() - started, 2), "bytes_received": received[0],
                             "js_heap_mb": round(heap / 1e6, 1) if heap else None, "server_rss_gb": round(memory.now / 1e9, 2)}
            print(name, results[name], flush=True)
            page.screenshot(path=screens / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png", full_page=False)

        main = page.get_by_test_id("stMain")
        ready = {
            "home": lambda: main.get_by_text("have been read").first.wait_for(),
            "catalog": lambda: main.get_by_text(re.compile(r"of [\d,]+ products")).first.wait_for(),
            "neighbours": lambda: main.get_by_text("Shared words and codes").wait_for(),
            "search": lambda: main.get_by_label("What are you looking for?").wait_for(),
            "map": lambda: main.locator(".nsewdrag").first.wait_for(),
            "categories": lambda: main.locator("[data-testid='stExpander']").first.wait_for(),
            "duplicates": lambda: main.get_by_text(re.compile(r"^Pair 1 of|pairs at this threshold")).first.wait_for(),
            "insights": lambda: main.get_by_role("heading", name="Recommended").wait_for(),
        }
        for name, wait in ready.items():
            step(f"{name} (first visit)", lambda name=name, wait=wait: (page.goto(f"{url}/{name}?ws=scale"), wait()))
            if name == "neighbours":
                step("open another product's neighbours", lambda: (
                    main.get_by_role("button", name="Similar products").nth(1).click(),
                    page.wait_for_url(re.compile("product=")), main.get_by_text("Shared words and codes").wait_for()))
            if name == "search":
                def search() -> None:
                    main.get_by_label("What are you looking for?").fill("samsung galaxy 64gb")
                    main.get_by_label("What are you looking for?").press("Enter")
                    main.get_by_text(re.compile(r"^\d+ products, best match first$")).wait_for()
                step("search words", search)
            if name == "map":
                def lasso() -> None:
                    area = main.locator(".nsewdrag").first.bounding_box()
                    half = 0.5 * min(0.4, max(0.02, (1_000 / n) ** 0.5 * 1.6))  # a region expected to hold about 1,000 products
                    cx, cy = area["x"] + 0.5 * area["width"], area["y"] + 0.5 * area["height"]
                    corners = [(cx - half * area["width"], cy - half * area["height"]), (cx + half * area["width"], cy - half * area["height"]),
                               (cx + half * area["width"], cy + half * area["height"]), (cx - half * area["width"], cy + half * area["height"])]
                    page.mouse.move(*corners[0])
                    page.mouse.down()
                    for corner in corners[1:] + corners[:1]:
                        page.mouse.move(*corner, steps=6)
                    page.mouse.up()
                    main.get_by_text(re.compile(r"^[\d,]+ selected products$")).wait_for()
                step("lasso a region", lasso)
                heading = main.get_by_text(re.compile(r"^[\d,]+ selected products$")).inner_text()
                results["lasso a region"]["products_selected"] = int(heading.split()[0].replace(",", ""))

                def assign() -> None:
                    main.get_by_label("Put them into the category").fill("Bench picks")
                    main.get_by_role("button", name="Assign").click()
                    main.get_by_text(re.compile("^Moved [\\d,]+ products to 'Bench picks'")).wait_for()
                step("assign the selection to a category", assign)
            if name == "categories":
                reviewed = main.get_by_text(re.compile(r"[\d,]+ of [\d,]+ products reviewed"))

                def reviewed_count() -> int:
                    return int(re.search(r"([\d,]+) of [\d,]+ products reviewed", reviewed.inner_text()).group(1).replace(",", ""))

                def accept() -> None:
                    before = reviewed_count()
                    group = main.locator("[data-testid='stExpander']").first
                    if group.locator("details").get_attribute("open") is None:
                        group.locator("summary").click()
                    group.get_by_role("button", name=re.compile("^Accept")).click()
                    deadline = time.monotonic() + timeout_s
                    while reviewed_count() <= before:  # the decision is shown: the count of reviewed products rose
                        assert time.monotonic() < deadline, "the accepted group was not shown as reviewed"
                        page.wait_for_timeout(200)
                step("accept a suggested group", accept)
        nav = page.get_by_test_id("stSidebarNav")
        for name, wait in [*ready.items(), *ready.items()]:  # the second round is measured: every page has been seen
            step(f"{name} (page switch)", lambda name=name, wait=wait: (
                nav.get_by_role("link", name=name.capitalize(), exact=True).click(),
                page.wait_for_url(re.compile(f"/{name}" if name != "home" else r"/(home)?(\\?|$)")), wait()))
        browser.close()
    return results


def run(n: int, synthetic: bool, keep: Path | None, timeout_s: float, reuse: bool = False) -> dict:
    root = keep or Path(tempfile.mkdtemp(prefix=f"prodsim-scale-{n}-"))
    root.mkdir(parents=True, exist_ok=True)
    if reuse and (root / "workspaces" / "scale" / "meta.json").is_file():
        built = {"products": n, "reused": f"{root} as an earlier run left it (vectors, lexical views, map and groups kept): "
                                          "first visits are a restarted server's"}
    else:
        built = build_workspace(n, root, synthetic)
    print("built", built, flush=True)
    port = free_port()
    env = {**os.environ, "PRODSIM_WORKSPACES": str(root / "workspaces"), "PRODSIM_PREPARE_DEMO": "0"}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
                               "--server.address", "127.0.0.1"], cwd=REPO, env=env, stdout=open(root / "server.log", "w"),
                              stderr=subprocess.STDOUT)
    memory = ServerMemory(server.pid)
    memory.start()
    try:
        time.sleep(5)
        (root / "screens").mkdir(exist_ok=True)
        steps = drive(f"http://127.0.0.1:{port}", n, timeout_s, root / "screens", memory)
    finally:
        memory.stop.set()
        server.terminate()
        server.wait(timeout=60)
    switches = [v["seconds"] for k, v in steps.items() if k.endswith("(page switch)")]
    return {"data": built, "screenshots": str(root / "screens"), "steps": steps, "page_switch_seconds_warm_p95": round(float(np.percentile(switches, 95)), 2),
            "largest_page_bytes": max(v["bytes_received"] for v in steps.values()),
            "server_peak_rss_gb": round(memory.peak / 1e9, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, action="append", required=True)
    parser.add_argument("--synthetic-vectors", action="store_true", help="made-up vectors (always at 1M and above)")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds any one step may take")
    parser.add_argument("--reuse", action="store_true", help="with --keep: serve the workspace an earlier run built there")
    args = parser.parse_args()
    report = {"bench": "app_scale", "machine": {**cpu_info(), "cores": os.cpu_count()}, "how_the_data_was_made": __doc__.split("How the data")[1].split("Then")[0].strip(),
              "runs": {}}
    for n in args.n:
        report["runs"][str(n)] = run(n, args.synthetic_vectors or n >= 1_000_000, args.keep and args.keep / str(n), args.timeout,
                                  args.reuse)
        print(json.dumps(report["runs"][str(n)]), flush=True)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "app_scale.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
