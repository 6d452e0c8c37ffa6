"""The review pages through Streamlit's AppTest: map and categories, the category tree, evaluation, insights."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from apptest import as_read, texts, wait_for_background_work
from conftest import DATASETS, REPO, tree_digest
from prodsim import api


def test_map_and_categories_pages_review_and_keep_decisions(read_demo, root):
    from prodsim.review import ReviewStore
    from prodsim.workspace import Workspace

    app = read_demo
    app.switch_page("pages/map.py").run()
    assert not app.exception and any("Reading \\'Demo catalog\\'" in m.value for m in app.markdown)  # map and groups: once
    wait_for_background_work(app)
    assert not app.exception
    assert "244 products. Drag a lasso" in texts(app)
    app.toggle(key="map_3d").set_value(True).run()
    assert not app.exception and "244 products in 3-D" in texts(app)
    assert len(list((root / "demo-catalog" / "projections").glob("*.npy"))) == 2  # the 2-D and the 3-D map, kept
    app.toggle(key="map_3d").set_value(False).run()
    app.selectbox(key="map_colour").set_value("Suggested groups, level 2").run()  # the sub-groups, by their paths
    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    assert not app.exception and any(" > " in str(trace.get("name", "")) for trace in traces)
    app.switch_page("pages/categories.py").run()
    assert not app.exception
    accept = next(b for b in app.button if b.key and b.key.startswith("categories_accept_"))
    cluster = accept.key.rsplit("_", 1)[1]
    app.text_input(key=f"categories_name_{cluster}").set_value("Kitchen things")
    app.button(key=accept.key).click().run()
    assert not app.exception
    store = ReviewStore(Workspace(root / "demo-catalog"))
    assert store.groups()["name"].tolist() == ["Kitchen things"]
    app.button(key="categories_undo").click().run()
    assert store.groups().empty and not app.exception
    app.button(key="categories_redo").click().run()
    assert store.groups()["name"].tolist() == ["Kitchen things"]
    assert "NMI" not in texts(app)  # sections are lazy: the closed "Misfiled?" section did not run
    app.session_state["categories_section"] = "Misfiled?"
    app.run()
    assert not app.exception and "NMI" in texts(app) and "whose most similar products mostly carry another category" in texts(app)
    app.session_state["categories_section"] = "Suggested groups"
    app.run()
    split = next(b for b in app.button if b.key and b.key.startswith("categories_split_") and "reviewed" not in b.key)
    app.button(key=split.key).click().run()
    assert not app.exception
    assert store.log()["action"].iloc[0] == "split"
    parts = store.groups()["name"].tolist()
    assert len(parts) == 3 and sum(" · " in name for name in parts) == 2  # two named parts beside "Kitchen things"
    with_levels = next(b for b in app.button if b.key and b.key.startswith("categories_accept_levels_"))
    app.button(key=with_levels.key).click().run()
    assert not app.exception and store.log()["action"].iloc[0] == "accept"
    assert sum(" > " in name for name in store.groups()["name"]) >= 2  # "group > sub-group", one decision

    # One level down: a group's sub-groups listed under breadcrumbs, one accepted under its path
    opener = next(b for b in app.button if b.key and b.key.startswith("categories_open_"))
    app.button(key=opener.key).click().run()
    assert not app.exception and "sub-groups of" in texts(app) and app.button(key="categories_level_crumb_0").label == "All groups"
    sub_accept = next(b for b in app.button if b.key and re.fullmatch(r"categories_accept_2_\d+", b.key))
    path = app.text_input(key=sub_accept.key.replace("_accept_", "_name_")).value
    app.button(key=sub_accept.key).click().run()
    assert not app.exception and " > " in path and path in store.groups()["name"].tolist()
    app.button(key="categories_level_crumb_0").click().run()
    assert not app.exception and "groups to review" in texts(app)

    # Reviewed categories as a tree: a parent renamed with the categories below it, opened, merged; undo takes it back
    parent = next(name.split(" > ")[0] for name in store.groups()["name"] if " > " in name and name != path)
    below = [name for name in store.groups()["name"] if name.startswith(parent + " > ")]
    app.session_state["categories_section"] = "Reviewed categories"
    app.session_state[f"categories_reviewed_{parent}"] = True
    app.run()
    app.text_input(key=f"categories_rename_text_{parent}").set_value("Kitchen > Appliances").run()
    app.button(key=f"categories_rename_{parent}").click().run()
    names = store.groups()["name"].tolist()
    assert not app.exception and all(name.replace(parent, "Kitchen > Appliances", 1) in names for name in below)
    app.session_state["categories_reviewed_Kitchen"] = True
    app.run()
    app.button(key="categories_reviewed_open_Kitchen").click().run()  # one level down
    assert not app.exception and app.button(key="categories_reviewed_at_crumb_1").label == "Kitchen"
    app.session_state["categories_reviewed_Kitchen > Appliances"] = True
    app.run()
    app.selectbox(key="categories_merge_target_Kitchen > Appliances").set_value("Kitchen things").run()
    app.button(key="categories_merge_Kitchen > Appliances").click().run()
    assert not app.exception and all(name.replace(parent, "Kitchen things", 1) in store.groups()["name"].tolist() for name in below)
    app.button(key="categories_undo").click().run()
    assert all(name.replace(parent, "Kitchen > Appliances", 1) in store.groups()["name"].tolist() for name in below)

    # The export: the whole path, then one column per level
    app.session_state["categories_section"] = "History and export"
    app.run()
    exported = api.categories_export(store.final(Workspace(root / "demo-catalog").products(), pd.Series([""] * 244)))
    assert not app.exception and {"level_1", "level_2", "level_3"} <= set(exported.columns)
    deep = exported[exported["final_category"].str.startswith("Kitchen > Appliances > ")]
    assert len(deep) and (deep["level_1"] == "Kitchen").all() and (deep["level_2"] == "Appliances").all()


def test_category_tree_page_loads_a_tree_files_walks_accepts_moves_and_exports(read_demo, root):
    from prodsim.review import ReviewStore
    from prodsim.workspace import Workspace

    app = read_demo
    workspace = Workspace(root / "demo-catalog")
    app.switch_page("pages/category_tree.py").run()
    wait_for_background_work(app)  # map and groups first: filing uses the grouping vectors
    assert not app.exception and "Load your category tree" in texts(app)
    before = tree_digest(workspace.path)
    app.file_uploader(key="tree_upload").set_value(("bad.txt", b"Home > Kitchen\nHome / Garden\n", "text/plain")).run()
    app.button(key="tree_load").click().run()
    assert "separates levels with '>' on most lines but with '/' on line 2" in texts(app)
    assert tree_digest(workspace.path) == before
    tree_file = REPO / "assets" / "demo_category_tree.txt"
    app.file_uploader(key="tree_upload").set_value(("demo_tree.txt", tree_file.read_bytes(), "text/plain")).run()
    app.button(key="tree_load").click().run()
    assert not app.exception and "24 leaves" in texts(app)
    app.button(key="tree_file").click().run()
    wait_for_background_work(app)
    assert not app.exception and "244 products filed" in texts(app)
    filing = api.stored_filing(workspace)
    kettles = filing.loc[workspace.products()["title"].str.contains("Kettle").to_numpy(), "path"]
    assert (kettles == "Home & Kitchen > Kitchen Appliances > Kettles & Toasters").mean() > 0.5

    app.button(key="tree_open_Electronics").click().run()  # one level down: Electronics' children, its products
    assert not app.exception and app.session_state["tree_node"] == "Electronics"
    assert any(b.key == "tree_open_Electronics > Headphones & Audio" for b in app.button)
    app.button(key="tree_accept_Electronics > Headphones & Audio").click().run()
    assert not app.exception
    store = ReviewStore(workspace)
    accepted = set(store.groups()["name"])
    assert accepted and all(name.startswith("Electronics > Headphones & Audio > ") for name in accepted)

    app.text_input(key="tree_move_find").set_value("Halvorsen Countertop Blender").run()
    blender = app.multiselect(key="tree_move_products").options[0]
    app.multiselect(key="tree_move_products").select(blender)
    app.text_input(key="tree_move_leaf_find").set_value("blenders").run()
    app.selectbox(key="tree_move_leaf").set_value("Home & Kitchen > Kitchen Appliances > Blenders & Mixers").run()
    app.button(key="tree_move").click().run()
    assert not app.exception
    moved = store.assignments().query("source == 'moved'")
    assert len(moved) == 1 and store.groups().set_index("group_id").loc[moved["group_id"].iloc[0], "name"].endswith("Blenders & Mixers")

    app.session_state["tree_section"] = "Export"
    app.run()
    assert not app.exception and any(b.key == "tree_export_csv" for b in app.get("download_button"))
    exported = api.tree_export(api.category_tree(workspace), api.tree_assignment(workspace, api.category_tree(workspace), filing))
    assert list(exported.columns[:6]) == ["id", "title", "path", "level_1", "level_2", "level_3"]
    assert (exported["source"] != "filed").sum() == len(store.assignments())

    app.switch_page("pages/categories.py").run()  # suggested groups are named by the tree, their words as a subtitle
    tops = {path.split(" > ")[0] for path in api.category_tree(workspace).leaves}
    named = [as_read(e.label) for e in app.expander if as_read(e.label).split(" > ")[0] in tops]
    assert not app.exception and named and all(" · _" in label for label in named)


@pytest.mark.datasets
def test_evaluation_page_shows_a_trained_model_and_switches_encoders(app, root, tmp_path):
    import shutil

    from prodsim import api
    from prodsim.settings import load_settings
    from prodsim.workspace import Workspace

    abt = DATASETS / "abt-buy"
    left = pd.read_csv(abt / "tableA.csv", dtype=str).head(300)
    pairs = {s: pd.read_csv(abt / f"{s}.csv", dtype=str) for s in ("train", "valid", "test")}
    pairs = {s: p[p["ltable_id"].isin(left["id"])] for s, p in pairs.items()}
    left.to_csv(tmp_path / "left.csv", index=False)
    for name, table in pairs.items():
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    workspace = Workspace(root / "demo-catalog")
    model = workspace.path / "models" / "abt-slice"
    api.finetune(tmp_path / "left.csv", abt / "tableB.csv", tmp_path / "train.csv", tmp_path / "valid.csv", model,
                 test=tmp_path / "test.csv", fine_tune=False)
    shutil.copytree(api.load_text_encoder().path, model / "encoder")  # stands in for a fine-tuned encoder

    app.switch_page("pages/evaluation.py").run()
    assert not app.exception
    models, figures = (d.value for d in app.dataframe[:2])
    assert models["name"].tolist() == ["abt-slice"]
    figures = figures.set_index("figure")
    assert figures.loc["F1", "after (trained)"] >= 0.7
    assert any("Worst errors" in s.value for s in app.subheader)
    app.button(key="evaluation_activate").click().run()
    assert not app.exception and load_settings(workspace).text_model == str(model / "encoder")
    app.button(key="evaluation_deactivate").click().run()
    assert load_settings(workspace).text_model is None


def test_insights_page_recommends_with_reasons_hints_demand_and_sums_sales(read_demo, root):
    app = read_demo
    app.switch_page("pages/insights.py").run()
    assert not app.exception
    said = texts(app)
    assert "Log **demo_behaviour.csv**" in said
    assert "SHIPPING" in said and "negative quantities" in said  # the demo log's charges and returns are reported
    reasons = [c.value for c in app.caption if c.value.startswith(("Similar product:", "Bought together:"))]
    assert len(reasons) >= 6
    first_user = app.selectbox(key="insights_user").value
    app.selectbox(key="insights_user").set_value(app.selectbox(key="insights_user").options[3].split(" · ")[0]).run()
    assert not app.exception and app.selectbox(key="insights_user").value != first_user
    assert not [m for m in app.metric if m.label.startswith("Units in its first")]  # sections are lazy
    app.session_state["insights_section"] = "Demand hints for new products"
    app.run()
    estimate = next(m for m in app.metric if m.label.startswith("Units in its first 8 weeks"))
    assert float(estimate.value.replace(",", "")) > 0
    assert "Measured on this log's own" in texts(app) or "too few launches with 8 complete weeks" in texts(app)
    app.text_input(key="insights_new_find").set_value("bookcase").run()
    assert all("Bookcase" in option for option in app.selectbox(key="insights_new_product").options)
    app.session_state["insights_section"] = "Sales per group"
    wait_for_background_work(app.run())  # its sales per group need the suggested groups, drawn in the background
    groups = app.dataframe[-1].value
    assert {"products", "median_price", "budget", "premium", "units", "revenue", "gaps"} <= set(groups.columns)
    assert groups["units"].sum() > 0

