"""Living catalogs: next week's file says what changed first, files its new products into reviewed categories."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import FLIPKART, REPO, tree_digest
from prodsim.errors import BadInputError

DEMO = REPO / "assets" / "demo_catalog.csv"


@pytest.fixture
def reviewed_demo(demo_workspace):
    """The demo catalog with every product accepted under its own category by a reviewer."""
    from prodsim.review import ReviewStore

    products = demo_workspace.products()
    for category, ids in products.groupby("category")["id"]:
        ReviewStore(demo_workspace).accept(category, ids.tolist())
    return demo_workspace


def unchanged_state(workspace) -> tuple:
    """The workspace's files (the database's bytes aside: closing a connection folds its write-ahead log in, the same
    rows in other bytes) and its decisions, to compare before and after."""
    from prodsim.review import ReviewStore

    files = {name: digest for name, digest in tree_digest(workspace.path).items() if not name.startswith("prodsim.db")}
    return files, ReviewStore(workspace).assignments().to_dict("records"), len(ReviewStore(workspace).log())


def next_week(tmp_path) -> tuple:
    """The demo file four products shorter, two prices changed, and six new listings of products like existing ones."""
    week = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    removed = week["id"].iloc[:4].tolist()
    week = week.iloc[4:].reset_index(drop=True)
    week.loc[[0, 1], "price"] = ["1.00", "2.00"]
    twins = week.iloc[[10, 40, 80, 120, 160, 200]]
    arrivals = twins.assign(id=[f"NEW-{i}" for i in range(len(twins))], title=twins["title"] + " (2027 edition)")
    path = tmp_path / "week2.csv"
    pd.concat([week, arrivals], ignore_index=True).to_csv(path, index=False)
    return path, removed, week["id"].iloc[:2].tolist(), dict(zip(arrivals["id"], twins["category"]))


def test_a_dry_run_lists_new_removed_and_changed_products_and_writes_nothing(reviewed_demo, tmp_path):
    from prodsim import api

    path, removed, changed, arrivals = next_week(tmp_path)
    before = unchanged_state(reviewed_demo)
    plan = api.update(reviewed_demo, path, dry_run=True)
    assert (plan["diff"]["new"], plan["diff"]["removed"], plan["diff"]["changed"]) == (6, 4, 2)
    assert sorted(plan["diff"]["new_ids"]) == sorted(arrivals) and sorted(plan["diff"]["removed_ids"]) == sorted(removed)
    assert plan["diff"]["changes"][changed[0]]["price"][1] == "1.0" and plan["confirm"] == []
    assert unchanged_state(reviewed_demo) == before


def test_new_products_are_filed_into_reviewed_categories_in_one_undoable_decision(reviewed_demo, tmp_path):
    from prodsim import api
    from prodsim.review import FILED, ReviewStore

    path, removed, _, arrivals = next_week(tmp_path)
    result = api.update(reviewed_demo, path)
    filing = result["filing"]
    assert filing["arrivals"] == 6 and filing["filed_automatically"] + filing["queued"] == 6 and filing["filed_automatically"] >= 1
    store = ReviewStore(reviewed_demo)
    final = store.final(reviewed_demo.products(), pd.Series([""] * len(reviewed_demo.products()))).set_index("id")
    filed = final[final["source"] == FILED]
    assert len(filed) == filing["filed_automatically"]
    assert all(final.at[pid, "final_category"] == arrivals[pid] for pid in filed.index)  # each in its look-alike's category
    queue = api.new_arrivals(reviewed_demo)
    assert set(queue["id"]) == set(arrivals) - set(filed.index) and queue["confidence"].is_monotonic_increasing
    assert set(removed) <= set(store.assignments()["product_id"])  # a removed product's decision is kept
    assert json.loads((reviewed_demo.path / api.LAST_UPDATE).read_text())["filing"] == filing
    assert store.undo().startswith("Filed")  # one step takes the whole filing back
    assert not set(arrivals) & set(store.assignments()["product_id"])


def test_a_file_removing_every_product_or_mapped_differently_needs_a_yes(reviewed_demo, tmp_path):
    from prodsim import api

    before = unchanged_state(reviewed_demo)
    other = pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(2).assign(id=["X1", "X2"])  # the same columns, no known id
    other.to_csv(tmp_path / "other.csv", index=False)
    assert api.update(reviewed_demo, tmp_path / "other.csv", dry_run=True)["confirm"] == ["remove_all"]
    with pytest.raises(BadInputError, match="all 244 products would be removed.*Nothing was changed"):
        api.update(reviewed_demo, tmp_path / "other.csv")
    renamed = pd.read_csv(DEMO, dtype=str, keep_default_na=False).rename(columns={"title": "name", "description": "details"})
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    plan = api.update(reviewed_demo, tmp_path / "renamed.csv", dry_run=True)
    assert plan["confirm"] == ["mapping", "no_new"] and "title: title → name" in plan["warnings"][0]
    with pytest.raises(BadInputError, match="confirm 'mapping'"):
        api.update(reviewed_demo, tmp_path / "renamed.csv")
    assert unchanged_state(reviewed_demo) == before
    with pytest.raises(BadInputError, match="between 0 and 1"):
        api.update(reviewed_demo, tmp_path / "renamed.csv", auto_file_above=1.5)
    assert api.update(reviewed_demo, DEMO, dry_run=True)["confirm"] == ["no_new"]  # the same file again
    with pytest.raises(BadInputError, match="no new products.*confirm 'no_new'"):
        api.update(reviewed_demo, DEMO)
    assert unchanged_state(reviewed_demo) == before
    assert api.update(reviewed_demo, DEMO, confirmed=("no_new",))["filing"]["arrivals"] == 0


def test_the_cli_update_prints_one_json_object(reviewed_demo, tmp_path):
    path, *_ = next_week(tmp_path)
    done = subprocess.run([sys.executable, "-m", "prodsim", "update", str(path), "--workspace", str(reviewed_demo.path), "--dry-run"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    out = json.loads(done.stdout)
    assert done.returncode == 0 and out["dry_run"] and out["diff"]["new"] == 6


@pytest.mark.datasets
def test_flipkart_arrivals_are_filed_right_and_the_queue_holds_the_doubtful_ones(tmp_path, text_encoder, image_encoder):
    """80 % of Flipkart reviewed by level-1 category; the whole file arrives as next week's."""
    from prodsim import api
    from prodsim.review import FILED, ReviewStore

    table = pd.read_csv(FLIPKART / "products.csv", dtype=str)
    week1 = np.random.default_rng(0).random(len(table)) < 0.8
    table[week1].to_csv(tmp_path / "week1.csv", index=False)
    workspace = api.ingest(tmp_path / "week1.csv", workspace_dir=tmp_path / "fk", images=FLIPKART / "images").workspace
    truth = table.set_index("uniq_id")["category_l1"]
    store = ReviewStore(workspace)
    for category, ids in truth[week1].groupby(truth[week1]).groups.items():
        store.accept(category, list(ids))
    api.update(workspace, FLIPKART / "products.csv", images=FLIPKART / "images", text_encoder=text_encoder, image_encoder=image_encoder)
    assignments = store.assignments().merge(store.groups(), on="group_id")
    filed = assignments[assignments["source"] == FILED]
    filed_accuracy = (filed["name"].to_numpy() == truth.loc[filed["product_id"]].to_numpy()).mean()
    queue = api.new_arrivals(workspace)
    queue_accuracy = (queue["suggested"].to_numpy() == truth.loc[queue["id"]].to_numpy()).mean()
    arriving = int((~week1).sum())
    print(f"Flipkart level 1: {len(filed)} of {arriving} filed automatically, accuracy {filed_accuracy:.3f}; "
          f"{len(queue)} queued, suggestions right {queue_accuracy:.3f}")
    assert len(filed) + len(queue) == arriving
    assert filed_accuracy >= 0.95 and queue_accuracy < filed_accuracy  # the target; the confidence means something


def test_the_map_keeps_its_products_in_place_and_places_the_new_ones_among_their_look_alikes(reviewed_demo, tmp_path):
    from prodsim import api
    from prodsim.projection import stored_projection

    before = api.project(reviewed_demo)
    old_ids = reviewed_demo.products()["id"].to_numpy()
    path, _, changed, arrivals = next_week(tmp_path)
    api.update(reviewed_demo, path)
    vectors = api.grouping_vectors(reviewed_demo)
    after = stored_projection(reviewed_demo, vectors)
    assert after is not None  # drawn without a refit
    ids = reviewed_demo.products()["id"].to_numpy()
    position = {pid: i for i, pid in enumerate(old_ids)}
    stayed = [i for i, pid in enumerate(ids) if pid in position and pid not in changed]
    assert np.allclose(after[stayed], before[[position[ids[i]] for i in stayed]])
    spread = np.linalg.norm(before - before.mean(axis=0), axis=1).mean()
    titles = dict(zip(ids, reviewed_demo.products()["title"]))
    for pid in arrivals:
        twin = next(i for i, other in enumerate(ids) if titles[pid] == titles[other] + " (2027 edition)")
        assert np.linalg.norm(after[list(ids).index(pid)] - after[twin]) < spread / 2, pid  # beside its look-alike
    assert api.redraw_map(reviewed_demo) == 1 and stored_projection(reviewed_demo, vectors) is None


def test_the_cli_ingest_into_a_workspace_with_a_catalog_says_what_it_would_change_and_changes_nothing(reviewed_demo, tmp_path):
    path, *_ = next_week(tmp_path)
    before = unchanged_state(reviewed_demo)
    done = subprocess.run([sys.executable, "-m", "prodsim", "ingest", str(path), "--workspace", str(reviewed_demo.path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    error = json.loads(done.stdout)["error"]
    assert done.returncode == 2 and "adds 6, removes 4 and changes 2 products. Nothing was changed" in error
    assert "python -m prodsim update" in error and unchanged_state(reviewed_demo) == before


def test_a_new_photo_for_a_product_is_a_change_and_the_same_photo_is_not(reviewed_demo, tmp_path):
    from conftest import make_zip
    from prodsim import api

    photos = sorted((REPO / "assets" / "demo_photos").iterdir())
    products = reviewed_demo.products()
    same, other = products["id"].iloc[0], products["id"].iloc[1]
    own = {p.stem: p for p in photos}
    archive = make_zip({f"{same}{own[same].suffix}": own[same].read_bytes(),  # the photo it has
                        f"{other}{own[other].suffix}": own[same].read_bytes()})  # another product's photo
    plan = api.update(reviewed_demo, DEMO, images=archive, images_name="photos.zip", dry_run=True)
    assert plan["diff"]["changed"] == 1 and list(plan["diff"]["changes"]) == [other]
    assert set(plan["diff"]["changes"][other]) == {"photo"}
