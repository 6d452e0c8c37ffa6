"""The pages as a user drives them, through Streamlit's AppTest."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import DATASETS, FLIPKART, REPO, make_zip, tree_digest
from prodsim import api
from prodsim.workspace import list_workspaces

TIMEOUT = 120  # the first run loads MiniLM once per process


class NavigationOnlyPagesManager:
    """AppTest re-detects the ``pages/`` folder before every run and, from the second run on,
    executes the page file alone (old multipage mode), skipping app.py's st.navigation and
    sidebar (seen with Streamlit 1.67). The real server is not affected: st.navigation turns
    that mode off. This wrapper turns it off for AppTest too."""

    def __new__(cls, *args, **kwargs):
        from streamlit.runtime.pages_manager import PagesManager

        manager = PagesManager(*args, **kwargs)
        PagesManager.uses_pages_directory = False
        return manager


def wait_for_background_work(at: AppTest) -> AppTest:
    """Waits for the app's background jobs (reading, map, groups), then redraws the page as its panel would."""
    from prodsim.jobs import runner

    runner().wait_all(timeout=600)
    return at.run()


@pytest.fixture
def app(root, monkeypatch):
    """The app on a first start; the demo is added but not read in the background (tests read it when they need to)."""
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    yield at
    from prodsim.jobs import runner

    runner().wait_all(timeout=600)  # no background work of one test runs on into the next


def as_read(markdown: str) -> str:
    """Markdown source as a reader sees its characters: backslash escapes removed (catalog text is escaped)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def texts(at) -> str:
    return "\n".join(as_read(str(e.value)) for e in [*at.markdown, *at.caption, *at.success, *at.error, *at.warning, *at.info])


def test_home_opens_on_the_demo_catalog(app):
    assert app.title[0].value == "Demo catalog"
    assert [m.value for m in app.metric] == ["244", "244 of 244", "0 of 244"]
    assert app.button(key="home_embed").label == "Read 244 products and 244 photos"
    import torch

    from prodsim.encoders.device import RUNTIME_NAMES

    device = "CUDA" if torch.cuda.is_available() else "CPU"
    assert "MiniLM-L6" in texts(app) and any(f"{device} · {name} " in texts(app) for name in RUNTIME_NAMES.values())


def test_home_embeds_then_says_all_products_are_read(app):
    app.button(key="home_embed").click().run()
    assert not app.exception
    wait_for_background_work(app)
    assert not app.exception
    assert "All 244 products have been read" in texts(app)
    assert "Read 242 products and 244 photos" in texts(app)  # two listings share one text
    assert app.metric[2].value == "244 of 244"
    photos = [image for image in app.get("image") if "data:image/jpeg" in str(image.proto)]
    assert len(photos) >= 5  # the showcase: a product and its four most similar products, with their photos


def test_first_start_reads_the_demo_in_the_background_and_shows_results(root, monkeypatch):
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "1")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("Reading \\'Demo catalog\\'" in m.value for m in at.markdown)  # as typed: the name is escaped
    assert at.button(key="job_cancel_demo-catalog")
    wait_for_background_work(at)
    assert not at.exception and "All 244 products have been read" in texts(at)
    at.switch_page("pages/map.py").run()
    assert not at.exception and "244 products. Drag a lasso" in texts(at)  # the map was drawn in the same background job


def test_cancel_stops_background_reading_and_continue_picks_it_up(app, monkeypatch):
    import threading

    from prodsim import api
    from prodsim.errors import Cancelled

    started, calls = threading.Event(), []

    def slow_prepare(workspace, text, image, *, grouping, progress, should_stop):
        calls.append(1)
        started.set()
        for done in range(10_000):
            if should_stop():
                raise Cancelled(f"Reading was cancelled after {done:,} of 10,000 products; those are kept.")
            progress("Reading product texts", done, 10_000)
            threading.Event().wait(0.01)
        return {}

    monkeypatch.setattr(api, "prepare", slow_prepare)
    app.button(key="home_embed").click().run()
    assert started.wait(10) and app.button(key="job_cancel_demo-catalog")
    app.button(key="job_cancel_demo-catalog").click().run()
    wait_for_background_work(app)
    assert "Reading was cancelled after" in " ".join(w.value for w in app.warning)
    assert app.button(key="job_continue_demo-catalog").label == "Continue: Reading 'Demo catalog'"
    app.button(key="job_continue_demo-catalog").click().run()
    assert len(calls) == 2


def test_catalog_page_lists_and_filters_products(app):
    app.switch_page("pages/catalog.py").run()
    assert not app.exception
    assert "244 of 244 products" in texts(app)
    assert len(app.dataframe[0].value) == 100
    app.text_input(key="catalog_filter").set_value("kettle").run()
    shown = app.dataframe[0].value
    assert 0 < len(shown) < 20 and shown["title"].str.contains("Kettle", case=False).all()


@pytest.mark.datasets
def test_catalog_upload_maps_columns_and_reports_quality(app, root):
    app.switch_page("pages/catalog.py").run()
    catalog = (FLIPKART / "products.csv").read_bytes()
    photos = make_zip({p.name: p.read_bytes() for p in sorted((FLIPKART / "images").iterdir())[:200]})
    app.file_uploader(key="catalog_upload_file").set_value(("flipkart.csv", catalog, "text/csv")).run()
    assert app.selectbox(key="catalog_map_title").value == "product_name"
    assert app.selectbox(key="catalog_map_category").value == "category_l1"
    app.selectbox(key="catalog_map_category").set_value("category_l2")
    app.file_uploader(key="catalog_upload_photos").set_value(("photos.zip", photos, "application/zip"))
    app.text_input(key="catalog_ws_name").set_value("Flipkart sample").run()
    app.button(key="catalog_ingest").click().run()
    assert not app.exception
    report = texts(app)
    assert "Workspace 'Flipkart sample' is ready" in report and "1,050 of 1,050 rows became products." in report
    assert "products have a photo" in report
    workspace = next(w for w in list_workspaces(root) if w.name == "Flipkart sample")
    assert workspace.meta["mapping"]["category"] == "category_l2"
    assert app.title[0].value == "Catalog" and app.session_state["workspace_slug"] == workspace.slug


def test_catalog_upload_of_a_bad_file_shows_why_and_changes_nothing(app, root):
    app.switch_page("pages/catalog.py").run()
    before = tree_digest(root)
    ragged = b"id,title,price\n1,Kettle,20\n2,Mug,3,blue\n"
    app.file_uploader(key="catalog_upload_file").set_value(("ragged.csv", ragged, "text/csv")).run()
    assert not app.exception
    assert "1 rows do not have the 3 fields of the header (row 2 has 4)" in texts(app)
    assert tree_digest(root) == before


@pytest.mark.datasets
def test_gb18030_upload_is_read_as_chinese(app, tmp_path):
    app.switch_page("pages/catalog.py").run()
    data = (DATASETS / "zh-titles-30cat" / "titles.tsv").read_text(encoding="utf-8").splitlines()[:40]
    app.file_uploader(key="catalog_upload_file").set_value(("zh.tsv", "\n".join(data).encode("gb18030"), "text/tab-separated-values")).run()
    assert "read as gb18030" in texts(app)
    assert app.selectbox(key="catalog_map_title").value == "text_a"


def test_sidebar_renames_and_switches_workspaces(app):
    app.sidebar.text_input(key="sidebar_rename_text").set_value("Spring range")
    app.sidebar.button(key="sidebar_rename").click().run()
    assert not app.exception
    assert app.title[0].value == "Spring range"


@pytest.mark.datasets
def test_sidebar_switches_workspace_and_keeps_it_in_the_url(app, root):
    from prodsim.ingest import ingest

    ingest(DATASETS / "abt-buy" / "tableB.csv", workspace_dir=root / "buy", name="Buy.com offers")
    app.run()
    app.sidebar.selectbox(key="sidebar_workspace").set_value("buy").run()
    assert not app.exception
    assert app.title[0].value == "Buy.com offers" and app.query_params["ws"] == "buy"


def test_home_settings_are_saved_in_the_workspace_and_change_what_is_read(read_demo, root):
    from prodsim.settings import load_settings
    from prodsim.workspace import Workspace

    app = read_demo.run()
    assert "All 244 products have been read" in texts(app)
    app.multiselect(key="home_template_fields").set_value(["title"])
    app.button(key="home_save_settings").click().run()
    assert not app.exception
    settings = load_settings(Workspace(root / "demo-catalog"))
    assert settings.template_fields == ("title",)
    assert app.button(key="home_embed").label == "Read 244 products"  # new texts (every title is distinct); photos are kept
    assert "template_fields" in str(Workspace(root / "demo-catalog").history()[0]["details"])
    assert settings.image_weight is None  # the photo weight was not touched: it stays the measured one


def test_home_shows_the_measured_photo_weight_and_a_hand_set_one_can_go_back_to_it(read_demo, root):
    from prodsim import api

    app = read_demo.run()
    workspace = api.Workspace(root / "demo-catalog")
    measured = api.stored_photo_weight(workspace)  # measured on the demo's category column while its products were read
    assert "Measured on 244 products in 12 categories of the column 'category'" in texts(app)
    assert app.slider(key="home_image_weight").value == measured["weight"]
    app.slider(key="home_image_weight").set_value(0.8)
    app.button(key="home_save_settings").click().run()
    assert api.photo_weight(workspace) == 0.8 and "The weight in use is set by hand." in texts(app)
    app.button(key="home_use_measured_weight").click().run()
    assert not app.exception and api.load_settings(workspace).image_weight is None
    assert app.slider(key="home_image_weight").value == measured["weight"] == api.photo_weight(workspace)
    app.button(key="home_measure_photo_weight").click().run()
    assert not app.exception and api.stored_photo_weight(workspace)["measured"] >= measured["measured"]


def test_a_broken_model_path_is_explained_and_the_default_is_used(app, root, tmp_path):
    from prodsim.settings import WorkspaceSettings, save_settings
    from prodsim.workspace import Workspace

    save_settings(Workspace(root / "demo-catalog"), WorkspaceSettings(text_model=str(tmp_path)))
    app.run()
    assert not app.exception
    assert f"{tmp_path} is not a model folder" in texts(app)
    assert app.button(key="home_embed").label == "Read 244 products and 244 photos"


def test_no_page_takes_a_server_path(app, root, tmp_path, monkeypatch):
    """The workspaces and models folders are the operator's: the sidebar shows no folder box, and the model
    pickers offer the packaged models and what is inside the models folder (no link out of it), never a typed path."""
    models = tmp_path / "models"
    (models / "shop-bert").mkdir(parents=True)
    (models / "shop-bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (models / "notes").mkdir()  # no config.json: not a model
    outside = tmp_path / "outside-model"
    outside.mkdir()
    (outside / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (models / "linked").symlink_to(outside)
    monkeypatch.setenv("PRODSIM_MODELS", str(models))
    app.run()
    assert not app.exception
    assert [box.key for box in app.text_input] == ["sidebar_rename_text"]  # a workspace's display name; no path anywhere
    offered = app.selectbox(key="home_text_model").options
    assert offered == ["Let prodsim choose", *api.TEXT_MODELS.values(), "shop-bert (local model)"]
    assert app.selectbox(key="home_image_model").options == ["Let prodsim choose", *api.IMAGE_MODELS.values()]


@pytest.fixture
def read_demo(app, root, text_encoder, image_encoder):
    """The app on the demo catalog after its products were read."""
    from prodsim import api

    api.prepare(api.Workspace(root / "demo-catalog"), text_encoder, image_encoder, grouping=False)
    return app


def test_neighbours_page_opens_on_the_product_in_the_url(read_demo):
    app = read_demo
    app.query_params["product"] = "DEMO-0003"
    app.switch_page("pages/neighbours.py").run()
    assert not app.exception
    shown = texts(app)
    cards = [as_read(m.value) for m in app.markdown if m.value.startswith("**")]
    # The focused white kettle, then its most similar products: its colour variants come first.
    assert cards[0] == "**Brightfold Electric Kettle 1.7 l, White**" and "Kettle" in cards[1] and "Kettle" in cards[2]
    assert "Brightfold Electric Kettle 1.7 l, Cream" in shown and "similarity **0." in shown
    assert "Shared words and codes" in shown


def test_neighbours_page_explains_a_stale_bookmark(read_demo):
    app = read_demo
    app.query_params["product"] = "NO-SUCH-ID"
    app.switch_page("pages/neighbours.py").run()
    assert not app.exception
    assert "The product 'NO-SUCH-ID' in this link is not in 'Demo catalog' any more" in texts(app)


def test_neighbours_page_without_read_products_says_what_to_do(app):
    app.switch_page("pages/neighbours.py").run()
    assert not app.exception
    assert "They read every product once" in texts(app) and app.button(key="guide_read").label == "Read 244 products and 244 photos"


@pytest.mark.parametrize(("query", "message"), [
    ("  ?!  ", "Type a few words to search for"),
    ("kettle " * 1500, "The search text is 10,499 characters long"),
])
def test_search_page_explains_bad_queries(read_demo, query, message):
    app = read_demo
    app.switch_page("pages/search.py").run()
    app.text_input(key="search_query").set_value(query).run()
    assert not app.exception
    assert message in texts(app)


def test_search_page_finds_kettles(read_demo):
    app = read_demo
    app.switch_page("pages/search.py").run()
    app.text_input(key="search_query").set_value("cordless kettle").run()
    assert not app.exception
    first_card = next(as_read(m.value) for m in app.markdown if m.value.startswith("**"))
    assert "Kettle" in first_card


def test_duplicates_page_saves_undoes_and_exports_decisions(read_demo, root):
    from prodsim.pair_labels import PairLabels
    from prodsim.workspace import Workspace

    app = read_demo
    app.switch_page("pages/duplicates.py").run()
    assert not app.exception
    assert "pairs at this threshold" in texts(app)
    assert "prodsim's default duplicate model" in texts(app) and "same product with probability" in texts(app)
    app.button(key="duplicates_label_duplicate").click().run()
    store = PairLabels(Workspace(root / "demo-catalog"))
    assert store.labels()["label"].tolist() == ["duplicate"]
    assert "1 reviewed" in texts(app)
    app.button(key="duplicates_label_variant").click().run()
    app.button(key="duplicates_undo").click().run()
    assert store.labels()["label"].tolist() == ["duplicate"]
    assert len(store.history()) == 2 and store.history()["undone"].tolist() == [1, 0]

    app.session_state["duplicates_section"] = "Decisions"  # tabs are lazy: only the open one runs
    app.run()
    assert app.button(key="duplicates_learn").disabled  # one decision: learning cannot start, and says what it needs
    assert "To start, mark 19 more as the same product and 10 more as a variant or different." in [c.value for c in app.caption]
    assert not (root / "demo-catalog" / "duplicate_model").exists()
    from prodsim import api
    from prodsim.encoders.registry import load_text_encoder

    workspace = Workspace(root / "demo-catalog")
    found = api.similarity(workspace, load_text_encoder()).duplicate_pairs(threshold=0.6)
    ids = workspace.products()["id"].to_numpy()
    for rank, (a, b) in enumerate(zip(ids[found["left"]], ids[found["right"]])):
        if rank < 25 or rank >= len(found) - 15:  # the reviewer's verdict: the closest are the same, the farthest not
            store.set(a, b, "duplicate" if rank < 25 else "different")
    decisions = len(store.labels())
    app.run()
    app.button(key="duplicates_learn").click().run()
    assert not app.exception
    assert f"Learnt from {decisions} decisions" in " ".join(s.value for s in app.success)
    assert (root / "demo-catalog" / "duplicate_model" / "pair_model.npz").is_file()
    app.session_state["duplicates_section"] = "Review pairs"
    app.run()
    assert "same product with probability" in texts(app)
    app.radio(key="duplicates_order").set_value("Least certain first (teaches the model most)").run()
    assert not app.exception and f"Suggestions come from a model learnt from your {decisions} decisions" in texts(app)

    # A crafted pickle planted in the model's place: opening Duplicates runs nothing and asks for retraining.
    import pickle

    witness = root.parent / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (witness.touch, ())

    (root / "demo-catalog" / "duplicate_model" / "pair_model.npz").write_bytes(pickle.dumps(Payload()))
    app.run()
    assert not app.exception and not witness.exists()
    assert any("cannot be read" in e.value and "learn from your decisions again" in e.value for e in app.error)
    assert "same product with probability" not in texts(app)


def test_sidebar_deletes_a_workspace_after_confirmation(app, root):
    assert app.sidebar.button(key="sidebar_delete").disabled
    app.sidebar.checkbox(key="sidebar_delete_confirm").check().run()
    app.sidebar.button(key="sidebar_delete").click().run()
    assert not app.exception
    assert not (root / "demo-catalog").exists()
    assert app.title[0].value == "Welcome to prodsim"  # the demo is not forced back on a user who deleted it


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


@pytest.fixture
def team_accounts(tmp_path, monkeypatch):
    """An accounts file with a viewer, a reviewer and an admin, as the operator made it."""
    from prodsim.accounts import ACCOUNTS_ENV, Accounts

    accounts = Accounts(tmp_path / "accounts.json")
    for name, role in (("vic", "viewer"), ("ann", "reviewer"), ("ada", "admin")):
        accounts.add(name, f"{name}-password-123", role)
    monkeypatch.setenv(ACCOUNTS_ENV, str(accounts.path))
    return accounts


def sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="sign_in_name").set_value(name)
    app.text_input(key="sign_in_password").set_value(password)
    return next(b for b in app.button if b.label == "Sign in").click().run()


def test_with_accounts_everyone_signs_in_and_sees_only_what_their_role_may_change(team_accounts, root, monkeypatch):
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    assert app.title[0].value == "Sign in to prodsim" and not app.selectbox  # nothing of any workspace before sign-in
    sign_in(app, "vic", "not-her-password")
    assert app.title[0].value == "Sign in to prodsim" and "do not match" in texts(app)
    sign_in(app, "vic", "vic-password-123")
    assert not app.exception and app.title[0].value == "Demo catalog"
    assert "Signed in as vic · viewer" in texts(app).replace("**", "")
    assert app.button(key="home_save_settings").disabled and not [b for b in app.button if b.key == "sidebar_rename"]
    assert not [e for e in app.expander if e.label == "People who may sign in"]  # admins only
    app.button(key="sign_out").click().run()
    assert app.title[0].value == "Sign in to prodsim"
    sign_in(app, "ada", "ada-password-123")
    assert not app.button(key="home_save_settings").disabled and app.button(key="sidebar_rename")
    app.text_input(key="sidebar_rename_text").set_value("Ada's demo")
    app.button(key="sidebar_rename").click().run()
    assert api.list_workspaces(root)[0].history()[0]["actor"] == "ada"  # the page's change carries her name
    app.text_input(key="people_name").set_value("ben")
    app.text_input(key="people_password").set_value("ben-password-123")
    app.selectbox(key="people_role").set_value("reviewer")
    next(b for b in app.button if b.label == "Add").click().run()
    assert "Added ben." in texts(app) and team_accounts.sign_in("ben", "ben-password-123").role == "reviewer"
    app.selectbox(key="people_who").set_value("vic")
    app.selectbox(key="people_new_role").set_value("reviewer")
    app.button(key="people_set_role").click().run()
    assert "vic is now reviewer." in texts(app) and team_accounts.role_of("vic") == "reviewer"


def test_a_network_address_without_accounts_is_refused_until_someone_can_sign_in(root, monkeypatch):
    from streamlit import config

    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    address = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        assert app.title[0].value == "prodsim cannot start on this address yet" and "python -m prodsim users add" in texts(app)
        assert not app.selectbox and not (root / "demo-catalog").exists()  # nothing served, nothing made
        monkeypatch.setenv("PRODSIM_READ_ONLY", "1")  # a read-only demo may be shown to anyone
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
        assert app.title[0].value != "prodsim cannot start on this address yet" and not app.exception
    finally:
        config.set_option("server.address", address)


def test_an_identity_provider_in_the_secrets_signs_people_in_through_st_login(root, monkeypatch):
    monkeypatch.setenv("PRODSIM_PREPARE_DEMO", "0")
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", NavigationOnlyPagesManager)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    app.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "a long random secret",
                           "client_id": "prodsim", "client_secret": "s", "server_metadata_url": "https://id.example/.well-known/openid-configuration"}
    app.run()
    assert app.title[0].value == "Sign in to prodsim" and app.button(key="sign_in_provider").label == "Sign in"
    assert not [t for t in app.text_input if t.key == "sign_in_password"] and not app.selectbox  # no local form, no app
