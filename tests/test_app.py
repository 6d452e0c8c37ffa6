"""The pages as a user drives them, through Streamlit's AppTest: home, catalog, sidebar, neighbours, search,
duplicates."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from apptest import TIMEOUT, NavigationOnlyPagesManager, as_read, texts, wait_for_background_work
from conftest import DATASETS, FLIPKART, REPO, make_zip, tree_digest
from prodsim import api
from prodsim.workspace import list_workspaces


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
    app.button(key="job_cancel_demo-catalog").click().run()  # the continued reading stops as the first did
    wait_for_background_work(app)
    assert app.button(key="job_continue_demo-catalog")


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


def test_home_settings_follow_what_was_saved_after_the_page_was_drawn(app, root):
    """A photo weight saved elsewhere (a colleague, the CLI, a measurement finishing in the background) shows on the
    open page, and saving another setting there keeps it instead of writing back the value first drawn."""
    workspace = api.Workspace(root / "demo-catalog")
    drawn = app.slider(key="home_image_weight").value
    elsewhere = 0.8 if drawn != 0.8 else 0.6
    api.save_settings(workspace, api.WorkspaceSettings(image_weight=elsewhere, description_words=12))
    app.run()
    assert app.slider(key="home_image_weight").value == elsewhere
    assert app.slider(key="home_template_words").value == 12
    app.multiselect(key="home_template_fields").set_value(["title"])
    app.button(key="home_save_settings").click().run()
    assert not app.exception
    saved = api.load_settings(workspace)
    assert (saved.image_weight, saved.description_words, saved.template_fields) == (elsewhere, 12, ("title",))


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
    differences = next(d.value for d in app.dataframe if "this product" in d.value.columns)
    prices = differences.loc[differences[""] == "price", ["this product", "similar product"]]
    assert prices.iloc[0].str.fullmatch(r"[\d,]+\.\d\d").all()  # prices as prices beside the other differences' words


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


def test_duplicates_page_compares_identifier_and_attribute_columns(app, root, tmp_path, text_encoder, image_encoder):
    """The side-by-side of a pair shows the workspace's identifier columns with their verdict, and its attributes."""
    import pandas as pd

    from test_identifiers import shop_pair

    left, right = shop_pair(12)
    both = pd.concat([left.rename(columns={"ean": "gtin", "model number": "mpn"}), right], ignore_index=True)
    both["colour"] = "white"
    both.to_csv(tmp_path / "kettles.csv", index=False)
    workspace = api.ingest(tmp_path / "kettles.csv", workspace_dir=root / "kettles").workspace
    api.prepare(workspace, text_encoder, image_encoder, grouping=False)
    app.run()
    app.sidebar.selectbox(key="sidebar_workspace").set_value("kettles").run()
    app.switch_page("pages/duplicates.py").run()
    assert not app.exception
    assert "12 pairs at this threshold: 12 look like the same product" in texts(app)  # one shop's 1.7 l is the other's 1.7 litre
    compared = next(frame.value for frame in app.dataframe if "field" in frame.value).set_index("field")
    assert compared.loc["gtin", ""] == "✓ the same" and compared.loc["mpn", ""] == "✓ the same"
    assert compared.loc["colour", "first listing"] == compared.loc["colour", "second listing"] == "white"


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
    kept = json.loads((root / "demo-catalog" / "duplicate_model" / "pair_model.json").read_text())
    said = {"fitted": f"Suggestions come from a model learnt from your {decisions} decisions",  # the better on the decisions
            "default": f"Suggestions come from prodsim's default duplicate model at the threshold your {decisions} decisions chose"}
    assert not app.exception and said[kept["source"]] in texts(app)

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


def test_a_delete_confirmation_and_a_typed_name_stay_with_their_workspace(app, root):
    from prodsim.ingest import ingest

    ingest(REPO / "assets" / "demo_catalog.csv", workspace_dir=root / "other", name="Other shop")
    app.run()
    app.sidebar.checkbox(key="sidebar_delete_confirm").check().run()
    assert not app.sidebar.button(key="sidebar_delete").disabled
    app.sidebar.selectbox(key="sidebar_workspace").set_value("other").run()
    assert app.title[0].value == "Other shop"
    assert not app.sidebar.checkbox(key="sidebar_delete_confirm").value and app.sidebar.button(key="sidebar_delete").disabled
    assert app.sidebar.text_input(key="sidebar_rename_text").value == "Other shop"


def test_sidebar_deletes_a_workspace_after_confirmation(app, root):
    assert app.sidebar.button(key="sidebar_delete").disabled
    app.sidebar.checkbox(key="sidebar_delete_confirm").check().run()
    app.sidebar.button(key="sidebar_delete").click().run()
    assert not app.exception
    assert not (root / "demo-catalog").exists()
    assert app.title[0].value == "Welcome to prodsim"  # the demo is not forced back on a user who deleted it

