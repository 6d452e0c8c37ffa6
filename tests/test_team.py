"""A team on one server, through the library: accounts, roles, names on decisions, your own undo, colleagues' checks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from conftest import REPO, tree_digest
from prodsim import access, api
from prodsim.accounts import Accounts
from prodsim.errors import BadInputError
from prodsim.pair_labels import PairLabels
from prodsim.review import ReviewStore, StaleDecision, UndoConflict
from prodsim.workspace import Workspace, list_workspaces, workspace_dir_for

ANN, BEN, VIC = access.Person("ann", "reviewer"), access.Person("ben", "reviewer"), access.Person("vic", "viewer")


def test_accounts_keep_salted_hashes_and_the_cli_manages_them(tmp_path):
    path = tmp_path / "accounts.json"

    def users(*args: str, stdin: str = "") -> dict:
        done = subprocess.run([sys.executable, "-m", "prodsim", "users", *args, "--accounts", str(path)], cwd=REPO,
                              input=stdin, capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout)

    assert users("add", "ann@shop.example", "--role", "reviewer", "--password-stdin", stdin="correct horse battery\n")["added"]["role"] == "reviewer"
    assert users("add", "vic", "--password-stdin", stdin="another long one\n")["added"]["role"] == "viewer"
    assert "at least 10 characters" in users("add", "bob", "--password-stdin", stdin="short\n")["error"]
    assert "already a user" in users("add", "vic", "--password-stdin", stdin="another long one\n")["error"]
    assert users("set-role", "vic", "--role", "admin")["role"] == "admin"
    assert [(u["name"], u["role"]) for u in users("list")["users"]] == [("ann@shop.example", "reviewer"), ("vic", "admin")]
    stored = path.read_text()
    assert "correct horse" not in stored and stored.count("scrypt$") == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    accounts = Accounts(path)
    assert accounts.sign_in("ann@shop.example", "correct horse battery") == access.Person("ann@shop.example", "reviewer")
    assert accounts.sign_in("ann@shop.example", "wrong password!") is None and accounts.sign_in("nobody", "x" * 12) is None
    assert users("remove", "vic") == {"accounts": str(path), "removed": "vic"}
    assert "There is no user called vic" in users("remove", "vic")["error"]
    assert accounts.role_of("someone@shop.example") == "viewer"  # signed in by the identity provider, not listed
    before = path.read_bytes()
    with access.acting_as(ANN), pytest.raises(access.PermissionRefused, match="managing accounts needs the admin role"):
        accounts.set_role("ann@shop.example", "admin")  # a reviewer cannot make herself an admin
    assert path.read_bytes() == before


def test_each_role_may_change_only_what_it_is_for_and_refusals_change_no_byte(demo_workspace):
    ids = demo_workspace.products()["id"].tolist()
    attempts = {
        "accept": lambda: ReviewStore(demo_workspace).accept("Kettles", ids[:5]),
        "undo": lambda: ReviewStore(demo_workspace).undo(),
        "label": lambda: PairLabels(demo_workspace).set(ids[0], ids[1], "duplicate"),
        "settings": lambda: api.save_settings(demo_workspace, api.WorkspaceSettings(description_words=5)),
        "rename": lambda: demo_workspace.rename("Mine now"),
        "upload": lambda: api.ingest(b"id,title\n1,Kettle\n", workspace_dir=demo_workspace.path, catalog_name="x.csv"),
        "delete": lambda: demo_workspace.delete(),
    }
    needs = {"accept": "reviewer", "undo": "reviewer", "label": "reviewer", "settings": "admin", "rename": "admin",
             "upload": "admin", "delete": "admin"}
    ReviewStore(demo_workspace)  # the database exists before the digest: refusals must not even create it
    before = tree_digest(demo_workspace.path)
    for person in (VIC, ANN):
        with access.acting_as(person):
            for name, attempt in attempts.items():
                if person.can(needs[name]):
                    continue
                with pytest.raises(access.PermissionRefused, match=f"Signed in as {person.name} .*needs the {needs[name]} role"):
                    attempt()
    assert tree_digest(demo_workspace.path) == before
    with access.acting_as(ANN):
        attempts["accept"]()
        attempts["label"]()
    with access.acting_as(access.Person("ada", "admin")):
        attempts["rename"]()
    assert ReviewStore(demo_workspace).assignments()["actor"].unique().tolist() == ["ann"]
    assert PairLabels(demo_workspace).labels()["actor"].tolist() == ["ann"]
    assert demo_workspace.history()[0]["actor"] == "ada"


def test_undo_and_redo_act_on_your_own_decisions_and_ask_before_overwriting_a_colleague(demo_workspace):
    ids = demo_workspace.products()["id"].tolist()
    store = ReviewStore(demo_workspace)
    with access.acting_as(ANN):
        store.accept("Kettles", ids[:10])
    with access.acting_as(BEN):
        store.accept("Toasters", ids[20:30])
    with access.acting_as(ANN):
        assert store.undo() == "Accepted 'Kettles' (10 products)"  # hers, though Ben's came later
    groups = store.groups().set_index("name")["size"].to_dict()
    assert groups == {"Toasters": 10}
    with access.acting_as(ANN):
        assert store.redo() == "Accepted 'Kettles' (10 products)" and store.redo() is None
    with access.acting_as(BEN):
        store.move(ids[:3], "Jugs")  # touches three of Ann's products after her decision
    with access.acting_as(ANN):
        with pytest.raises(UndoConflict, match="ben decided 'Moved 3 products to 'Jugs'' .* after your 'Accepted 'Kettles'"):
            store.undo()
        assert len(store.assignments()) == 20  # asked, nothing changed yet
        assert store.undo(force=True) == "Accepted 'Kettles' (10 products)"
    final = store.assignments().set_index("product_id")
    assert sorted(final.index) == sorted(ids[20:30])  # Ann's accept (with the three Ben moved) undone; Toasters kept
    with access.acting_as(BEN):  # his move is still his to undo, but Ann's undo since touched its products
        with pytest.raises(UndoConflict, match="ann undid 'Accepted 'Kettles' \\(10 products\\)'"):
            store.undo()
        assert store.undo(force=True) == "Moved 3 products to 'Jugs'"
    groups = store.groups().set_index("name")["size"].to_dict()
    assert groups == {"Toasters": 10, "Kettles": 3}  # the three are back where his move found them, group and all
    assert store.log()["actor"].tolist() == ["ben", "ben", "ann"]
    exported = store.final(demo_workspace.products(), demo_workspace.products()["category"])
    assert exported.loc[exported["source"] == "reviewed"].groupby("final_category")["decided_by"].first().to_dict() == {
        "Kettles": "ann", "Toasters": "ben"}


def test_a_decision_made_on_an_old_page_is_refused_when_a_colleague_touched_the_same_products(demo_workspace):
    ids = demo_workspace.products()["id"].tolist()
    store = ReviewStore(demo_workspace)
    drawn = store.step()  # Ann's page is drawn here
    with access.acting_as(BEN):
        store.move(ids[:2], "Mugs")
    with access.acting_as(ANN):
        store.move(ids[10:12], "Jugs", seen=drawn)  # other products: lands
        with pytest.raises(StaleDecision, match="ben decided 'Moved 2 products to 'Mugs'' .* nothing was changed"):
            store.move(ids[:5], "Cups", seen=drawn)
        with pytest.raises(StaleDecision):
            store.rename(int(store.groups().set_index("name").at["Mugs", "group_id"]), "Beakers", seen=drawn)
    assert store.assignments().set_index("product_id")["group_id"].map(store.groups().set_index("group_id")["name"]).to_dict() == {
        ids[0]: "Mugs", ids[1]: "Mugs", ids[10]: "Jugs", ids[11]: "Jugs"}
    news = store.changes_since(drawn, "ann")
    assert news["actor"].tolist() == ["ben"] and news["summary"].tolist() == ["Moved 2 products to 'Mugs'"]


def test_pair_decisions_check_what_the_page_showed_and_undo_only_your_own(demo_workspace):
    a, b = demo_workspace.products()["id"].tolist()[:2]
    labels = PairLabels(demo_workspace)
    with access.acting_as(ANN):
        assert labels.set(a, b, "duplicate", expected="")
        # her second click before the page caught up: already recorded, nothing refused, nothing logged twice
        assert not labels.set(a, b, "duplicate", expected="")
        assert len(labels.history()) == 1
    with access.acting_as(BEN):
        with pytest.raises(BadInputError, match="ann changed this pair to 'duplicate' .* nothing was changed"):
            labels.set(a, b, "different", expected="")  # his page still showed it undecided
        with pytest.raises(BadInputError, match="ann changed this pair"):
            labels.set(a, b, "duplicate", expected="")  # the same label, but ann's decision: he is told
        labels.set(a, b, "variant", expected="duplicate")
    with access.acting_as(ANN):
        with pytest.raises(UndoConflict, match="ben labelled this pair 'variant'"):
            labels.undo()
        assert labels.labels()["label"].tolist() == ["variant"]
    with access.acting_as(BEN):
        assert labels.undo()["after"] == "duplicate"
    assert labels.labels()[["label", "actor"]].values.tolist() == [["duplicate", "ann"]]
    assert labels.history()["actor"].tolist() == ["ben", "ann"]


def test_workspace_names_and_links_never_lead_out_of_the_root(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    catalog = b"id,title\n1,Kettle\n2,Toaster\n"
    for name in ("../outside", "/etc/passwd", "a\x00b/../../c", "..", "C:\\Windows"):
        folder = workspace_dir_for(name, root)
        assert folder.parent == root and folder.name.replace("-", "").isalnum()
        api.ingest(catalog, workspace_dir=folder, catalog_name=f"../../{name}.csv", name=name)
    assert list(outside.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["outside", "workspaces"]
    assert sorted(w.slug for w in list_workspaces(root)) == ["a-b-c", "c-windows", "catalog", "etc-passwd", "outside"]
    elsewhere = tmp_path / "elsewhere"
    api.ingest(catalog, workspace_dir=elsewhere, catalog_name="x.csv", name="Elsewhere")  # the CLI's operator may
    (root / "linked").symlink_to(elsewhere)
    before = tree_digest(elsewhere)
    with pytest.raises(BadInputError, match="is a link, not a workspace"):
        workspace_dir_for("Linked", root)
    assert "linked" not in [w.slug for w in list_workspaces(root)] and tree_digest(elsewhere) == before


def test_databases_from_before_names_are_migrated_with_their_decisions(demo_workspace):
    ids = demo_workspace.products()["id"].tolist()
    with access.acting_as(ANN):
        ReviewStore(demo_workspace).accept("Kettles", ids[:4])
    path = demo_workspace.path / "prodsim.db"
    with sqlite3.connect(path) as raw:  # back to version 1: no names on assignments, no steps, no touched products
        raw.execute("DROP TABLE review_log_products")
        raw.execute("ALTER TABLE review_assignments DROP COLUMN actor")
        raw.execute("ALTER TABLE review_log DROP COLUMN changed")
        raw.execute("PRAGMA user_version = 1")
    store = ReviewStore(Workspace(demo_workspace.path))
    assert len(store.assignments()) == 4 and set(store.assignments()["actor"]) == {""}
    with access.acting_as(BEN):
        store.move(ids[:1], "Jugs")
    with access.acting_as(ANN):
        with pytest.raises(UndoConflict):  # the migrated decision knows which products it touched
            store.undo()


def test_colleagues_saving_settings_and_renaming_at_once_both_land(demo_workspace, monkeypatch):
    """meta.json is read, changed and written under the workspace's lock: no change overwrites another's."""
    import threading
    import time

    import prodsim.workspace

    write = prodsim.workspace.atomic_write_json

    def slow_disk(path, payload):  # widens the window between reading and writing, as a busy disk does
        time.sleep(0.005)
        write(path, payload)

    monkeypatch.setattr(prodsim.workspace, "atomic_write_json", slow_disk)
    start = threading.Barrier(2)

    def rename() -> None:
        start.wait()
        for number in range(15):
            Workspace(demo_workspace.path).rename(f"Demo {number}")

    def save() -> None:
        start.wait()
        for words in range(15):
            api.save_settings(Workspace(demo_workspace.path), api.WorkspaceSettings(description_words=words + 1))

    def as_operator(work):
        def run():
            with access.acting_as(access.Person("ada", "admin")):
                work()
        return threading.Thread(target=run)

    threads = [as_operator(rename), as_operator(save)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    meta = Workspace(demo_workspace.path).meta
    assert meta["name"] == "Demo 14" and meta["settings"]["description_words"] == 15
    assert [h["action"] for h in demo_workspace.history()].count("rename") == 15
