"""Category review decisions: saved at once, undoable and redoable, kept across re-clustering and restarts."""

from __future__ import annotations

import pandas as pd
import pytest

from prodsim.errors import BadInputError
from prodsim.review import UNASSIGNED, ReviewStore
from prodsim.workspace import Workspace


def test_accept_rename_merge_move_undo_redo_and_final(demo_workspace):
    store = ReviewStore(demo_workspace)
    products = demo_workspace.products()
    ids = products["id"].tolist()
    suggested = pd.Series(["kettles"] * 10 + ["shoes"] * 10 + ["other"] * (len(ids) - 20))
    store.accept("Kettles", ids[:10])
    store.accept("Shoes", ids[10:20])
    kettles, shoes = (store.groups().set_index("name").at[n, "group_id"] for n in ("Kettles", "Shoes"))
    store.rename(int(kettles), "Kettles & jugs")
    store.move([ids[0]], "Misc")
    store.merge(int(shoes), int(kettles))
    final = store.final(products, suggested).set_index("id")
    assert final.at[ids[0], "final_category"] == "Misc" and final.at[ids[0], "source"] == "moved"
    assert (final.loc[ids[1:20], "final_category"] == "Kettles & jugs").all()
    assert (final.loc[ids[20:], "source"] == "suggested").all()

    assert store.undo() == "Merged 'Shoes' into 'Kettles & jugs' (10 products)"
    final = store.final(products, suggested).set_index("id")
    assert (final.loc[ids[10:20], "final_category"] == "Shoes").all()
    assert store.undo().startswith("Moved 1 products")
    assert store.final(products, suggested).set_index("id").at[ids[0], "final_category"] == "Kettles & jugs"
    assert store.redo().startswith("Moved 1 products")
    assert store.final(products, suggested).set_index("id").at[ids[0], "final_category"] == "Misc"

    reopened = ReviewStore(Workspace(demo_workspace.path))  # a restart reads the same decisions
    assert reopened.final(products, suggested).equals(store.final(products, suggested))
    assert list(reopened.log()["action"][:3]) == ["merge", "move", "rename"]


def test_new_suggestions_never_override_reviewed_products(demo_workspace):
    store = ReviewStore(demo_workspace)
    products = demo_workspace.products()
    ids = products["id"].tolist()
    store.accept("Kitchen", ids[:5])
    reclustered = pd.Series(["something else"] * len(ids))
    final = store.final(products, reclustered).set_index("id")
    assert (final.loc[ids[:5], "final_category"] == "Kitchen").all()
    assert (final.loc[ids[5:], "final_category"] == "something else").all()


def test_reject_leaves_products_without_category(demo_workspace):
    store = ReviewStore(demo_workspace)
    products = demo_workspace.products()
    store.reject("misc mix", products["id"][:3].tolist())
    final = store.final(products, pd.Series(["x"] * len(products))).set_index("id")
    assert (final.loc[products["id"][:3], "final_category"] == UNASSIGNED).all()
    assert (final.loc[products["id"][:3], "source"] == "rejected").all()


def test_bad_decisions_are_explained(demo_workspace):
    store = ReviewStore(demo_workspace)
    ids = demo_workspace.products()["id"].tolist()
    with pytest.raises(BadInputError, match="needs a name"):
        store.accept("  ", ids[:2])
    store.accept("A", ids[:2])
    with pytest.raises(BadInputError, match="already been reviewed"):
        store.accept("B", ids[:2])
    group = int(store.groups()["group_id"][0])
    with pytest.raises(BadInputError, match="cannot be merged into itself"):
        store.merge(group, group)
    with pytest.raises(BadInputError, match="Select at least one product"):
        store.move([], "A")
    assert store.undo() == "Accepted 'A' (2 products)" and store.undo() is None


def test_read_only_mode_refuses_every_decision_and_changes_nothing(demo_workspace, monkeypatch):
    from conftest import DEMO_CATALOG
    from prodsim.ingest import ingest
    from prodsim.pair_labels import PairLabels
    from prodsim.settings import load_settings, save_settings

    store = ReviewStore(demo_workspace)
    store.accept("Kettles", ["DEMO-0003"])
    files = {name: (demo_workspace.path / name).read_bytes() for name in ("meta.json", "products.parquet")}
    before = (store.groups().to_dict(), store.assignments().to_dict(), store.log().to_dict(), demo_workspace.history())
    monkeypatch.setenv("PRODSIM_READ_ONLY", "1")
    attempts = [
        lambda: store.accept("Blenders", ["DEMO-0001"]),
        lambda: store.move(["DEMO-0002"], "Elsewhere"),
        store.undo,
        lambda: PairLabels(demo_workspace).set("DEMO-0001", "DEMO-0002", "duplicate"),
        lambda: save_settings(demo_workspace, load_settings(demo_workspace)),
        lambda: ingest(DEMO_CATALOG, workspace_dir=demo_workspace.path),
        lambda: demo_workspace.rename("Another name"),
        demo_workspace.delete,
    ]
    for attempt in attempts:
        with pytest.raises(BadInputError, match="runs read-only"):
            attempt()
    assert (store.groups().to_dict(), store.assignments().to_dict(), store.log().to_dict(), demo_workspace.history()) == before
    assert {name: (demo_workspace.path / name).read_bytes() for name in files} == files
    assert PairLabels(demo_workspace).labels().empty


def test_two_reviewers_accepting_one_group_at_once_lose_nothing(demo_workspace):
    """Two sessions (own connections, own threads) accept the same suggested group at the same moment: one decision
    lands whole, the other is refused with a clear message, and nothing is half-written."""
    import threading

    ids = demo_workspace.products()["id"].tolist()[:40]
    start, outcomes = threading.Barrier(2), {}

    def reviewer(name: str) -> None:
        from prodsim import access

        store = ReviewStore(Workspace(demo_workspace.path))
        with access.acting_as(access.Person(name, "reviewer")):
            start.wait()
            try:
                outcomes[name] = store.accept(f"Group by {name}", ids)
            except BadInputError as err:
                outcomes[name] = str(err)

    threads = [threading.Thread(target=reviewer, args=(name,)) for name in ("anna", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = ReviewStore(demo_workspace)
    assert sorted(type(v).__name__ for v in outcomes.values()) == ["int", "str"]
    winner = next(name for name, v in outcomes.items() if v == 40)
    loser = next(v for v in outcomes.values() if isinstance(v, str))
    assert "nothing was changed" in loser and "colleague" in loser  # whichever check caught it
    assert store.groups()["name"].tolist() == [f"Group by {winner}"] and len(store.assignments()) == 40
    assert store.log()[["action", "actor"]].values.tolist() == [["accept", winner]]


def test_database_schema_is_versioned_and_newer_files_are_refused(demo_workspace):
    import sqlite3

    from prodsim.workspace import SCHEMA_VERSION

    path = demo_workspace.path / "prodsim.db"
    ReviewStore(demo_workspace).accept("Kettles", demo_workspace.products()["id"].tolist()[:3])
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        raw.execute("PRAGMA user_version = 0")  # a database from before versioning: migrated on open, decisions kept
    assert len(ReviewStore(Workspace(demo_workspace.path)).assignments()) == 3
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(BadInputError, match="newer than this prodsim"):
        ReviewStore(Workspace(demo_workspace.path))
    assert path.read_bytes() == before


def test_categories_at_every_level_rename_merge_undo_and_export_columns(demo_workspace):
    """Reviewed names are paths: a parent is renamed or merged with everything below it in one decision (one undo),
    and the export has the path and one column per level."""
    from prodsim import api

    store = ReviewStore(demo_workspace)
    products = demo_workspace.products()
    ids = products["id"].tolist()
    store.accept("Home > Kitchen > Kettles", ids[:4])
    store.accept("Home > Kitchen > Mugs", ids[4:7])
    store.accept("Home > Garden", ids[7:9])
    store.accept("Kitchenware > Kettles", ids[9:11])
    store.accept("Home", ids[11:12])  # a parent can hold products of its own too
    top = api.reviewed_nodes(store.groups()).set_index("name")
    assert top.at["Home", "products"] == 10 and top.at["Home", "below"] == 3 and top.at["Home", "group_id"] >= 0
    kitchen = api.reviewed_nodes(store.groups(), "Home").set_index("name")
    assert kitchen.at["Kitchen", "products"] == 7 and kitchen.at["Kitchen", "group_id"] == -1
    assert set(api.node_product_ids(store.groups(), store.assignments(), "Home > Kitchen")) == set(ids[:7])
    assert "Home > Kitchen" in api.reviewed_paths(store.groups())

    store.rename_path("Home > Kitchen", "Home > Cooking")
    names = set(store.groups()["name"])
    assert {"Home > Cooking > Kettles", "Home > Cooking > Mugs"} <= names and not any("Kitchen >" in n for n in names if n.startswith("Home"))
    store.rename_path("Kitchenware", "Home > Cooking")  # onto an existing category (it has no group of its own, only
    # "Kitchenware > Kettles"): those Kettles join the other Kettles
    final = store.final(products, pd.Series(["x"] * len(ids))).set_index("id")
    assert (final.loc[ids[9:11], "final_category"] == "Home > Cooking > Kettles").all()
    assert not any(n.startswith("Kitchenware") for n in store.groups()["name"])
    assert store.log()["summary"][0] == "Merged 'Kitchenware' with 1 category below it into 'Home > Cooking' (2 products)"

    exported = api.categories_export(store.final(products, pd.Series(["x"] * len(ids))))
    assert list(exported.columns[:6]) == ["id", "title", "final_category", "level_1", "level_2", "level_3"]
    row = exported.set_index("id").loc[ids[0]]
    assert (row["level_1"], row["level_2"], row["level_3"]) == ("Home", "Cooking", "Kettles")
    assert exported.set_index("id").at[ids[20], "level_2"] == ""

    assert store.undo().startswith("Merged 'Kitchenware'")  # one undo takes the whole merge back
    assert (store.final(products, pd.Series(["x"] * len(ids))).set_index("id").loc[ids[9:11], "final_category"]
            == "Kitchenware > Kettles").all()
    assert store.undo() == "Renamed 'Home > Kitchen' with 2 categories below it to 'Home > Cooking'"
    assert {"Home > Kitchen > Kettles", "Home > Kitchen > Mugs"} <= set(store.groups()["name"])
    with pytest.raises(BadInputError, match="no reviewed category"):
        store.rename_path("Nowhere", "Somewhere")
    before = store.groups()
    with pytest.raises(BadInputError, match="cannot go below itself"):
        store.rename_path("Home", "Home > Cooking")
    assert store.groups().equals(before)


def test_walking_suggested_levels_and_accepting_a_parent_leaves_reviewed_products_alone(demo_workspace):
    """Three levels made by the test: a node's products, children and the paths below it; accepting the parent
    files its open products under the whole path to the deepest level, and a reviewed product keeps its category."""
    import numpy as np

    from prodsim import api
    from prodsim.clustering.hierarchy import GroupLevels

    levels = GroupLevels([np.array([0, 0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 2, 2, 3, 4])],
                         [np.empty(0, np.int64), np.array([0, 0, 1]), np.array([0, 0, 1, 2, 2])],
                         [{0: "kitchen", 1: "garden"}, {0: "kettles", 1: "mugs", 2: "tools"},
                          {0: "steel", 1: "glass", 2: "stoneware", 3: "spades", 4: "rakes"}])
    everything = np.ones(6, bool)
    assert api.level_rows(levels, 1, 0, everything).tolist() == [0, 1, 2, 3]
    children = api.level_children(levels, 1, api.level_rows(levels, 1, 0, everything))
    assert children[["name", "products"]].values.tolist() == [["kettles", 2], ["mugs", 2]]
    assert api.level_children(levels, 3, np.arange(6)).empty  # the deepest level has none
    assert api.sub_paths(levels, 1, np.array([0, 2])).tolist() == ["kettles > steel", "mugs > stoneware"]
    assert api.level_trail(levels, 3, 4) == [(1, "garden"), (2, "tools"), (4, "rakes")]

    store = ReviewStore(demo_workspace)
    ids = demo_workspace.products()["id"].tolist()[:6]
    store.accept("Mine", [ids[1]])  # reviewed before the parent is accepted
    rows = api.level_rows(levels, 1, 0, everything)  # the reviewed product is offered too: accept_under skips it
    taken = api.accept_with_sub_groups(store, "Kitchen", dict(zip(np.array(ids)[rows], api.sub_paths(levels, 1, rows))))
    assert taken == {"Kitchen > kettles > steel": 1, "Kitchen > mugs > stoneware": 2}
    final = store.final(demo_workspace.products(), pd.Series(["x"] * len(demo_workspace.products()))).set_index("id")
    assert final.at[ids[1], "final_category"] == "Mine" and final.at[ids[3], "final_category"] == "Kitchen > mugs > stoneware"


def test_export_categories_verb_writes_paths_and_level_columns_and_refuses_bad_files(demo_workspace, tmp_path):
    """`python -m prodsim export-categories` prints one JSON object and writes what the page's download holds."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    store = ReviewStore(demo_workspace)
    ids = demo_workspace.products()["id"].tolist()
    store.accept("Home > Kitchen > Kettles", ids[:3])
    store.accept("=Risky > Name", ids[3:4])  # a name a spreadsheet would run as a formula

    def verb(out) -> dict:
        done = subprocess.run([sys.executable, "-m", "prodsim", "export-categories", "--workspace", str(demo_workspace.path),
                               "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
        return json.loads(done.stdout)

    refused = verb(tmp_path / "categories.txt")
    assert "neither" in refused["error"] and not (tmp_path / "categories.txt").exists()
    printed = verb(tmp_path / "categories.csv")
    assert (printed["products"], printed["reviewed"], printed["levels"]) == (len(ids), 4, 3)
    table = pd.read_csv(tmp_path / "categories.csv", dtype=str, keep_default_na=False).set_index("id")
    assert (table.loc[ids[0], ["level_1", "level_2", "level_3"]] == ["Home", "Kitchen", "Kettles"]).all()
    assert table.at[ids[3], "level_1"] == "'=Risky" and table.at[ids[3], "final_category"] == "'=Risky > Name"
    assert (table.loc[ids[10:], "source"] == "suggested").all() and (table.loc[ids[10:], "final_category"] != "").all()
