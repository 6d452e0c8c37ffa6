"""A team on one server in a real headless Chromium: sign-in, two reviewers on one group, ten sessions, kill -9.

The module's server gets its accounts file from the ``team`` fixture on; until then it is in single-user mode.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from browser import ACTION_TIMEOUT_MS, ARTIFACTS, MARKS, screenshot_when_drawn, settled, start_server, wait_for, wait_for_photos

pytestmark = MARKS


TEAM = {"ann": "reviewer", "ben": "reviewer", "vic": "viewer"}


def password(name: str) -> str:
    return f"{name}-secret-pass"


@pytest.fixture(scope="module")
def team(shared_server, page):
    """The module's server with an accounts file, after its first start added the demo; a second small workspace."""
    page.goto(shared_server.url)  # the first visit adds the demo
    page.get_by_role("heading", name="Demo catalog").wait_for()
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
    tab.set_default_timeout(ACTION_TIMEOUT_MS)
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
    screenshot_when_drawn(winner_tab, "21-history-two-names.png")

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
    for _ in range(6):  # a burst: each click as soon as the page confirms the one before and shows the next pair
        main.get_by_role("button", name="Different products").click()
        confirmed += 1
        main.get_by_text(re.compile(rf" {confirmed} reviewed\.$")).wait_for()
        settled(ann)  # the count is drawn above the buttons: until the run ends they still belong to the decided pair
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

