"""The vector cache: nothing is embedded twice, changed rows re-embed exactly, cancel keeps work."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import DEMO_CATALOG, FLIPKART
from prodsim import api, embedding
from prodsim.embedding import TextTemplate, embed_products
from prodsim.errors import Cancelled
from prodsim.ingest import ingest


class Counting:
    """Wraps an encoder and counts the items that reach its model."""

    def __init__(self, encoder):
        self.encoder, self.items = encoder, 0

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    def encode(self, items, **kwargs):
        self.items += len(items)
        return self.encoder.encode(items, **kwargs)


def test_unchanged_catalog_runs_no_model_and_ten_changed_rows_embed_ten(demo_workspace, root, tmp_path, text_encoder):
    counting = Counting(text_encoder)
    vectors, stats = embed_products(demo_workspace, counting)
    distinct = len(set(TextTemplate().render(demo_workspace.products())))
    assert counting.items == stats.text_encoded == distinct and vectors.text.shape == (244, 384)

    counting.items = 0
    again, stats = embed_products(demo_workspace, counting)
    assert counting.items == 0 and stats.text_cached == 244
    assert (again.text == vectors.text).all()

    catalog = pd.read_csv(DEMO_CATALOG, dtype=str, keep_default_na=False)
    changed = catalog.sample(10, random_state=1).index
    catalog.loc[changed, "title"] += " (2027 edition)"
    added = pd.DataFrame([{"id": f"NEW-{i}", "title": f"Brightfold Glass Storage Jar {i} l", "description": "Airtight jar.",
                           "brand": "Brightfold", "category": "Cookware", "price": "9.00"} for i in range(1, 6)])
    edited = tmp_path / "demo_catalog.csv"
    pd.concat([catalog, added]).to_csv(edited, index=False)
    ingest(edited, workspace_dir=demo_workspace.path)
    counting.items = 0
    updated, stats = embed_products(demo_workspace, counting)
    assert counting.items == stats.text_encoded == 15
    assert (updated.ids[:244] == vectors.ids).all()
    untouched = [i for i in range(244) if i not in set(changed)]
    assert (updated.text[untouched] == vectors.text[untouched]).all()


def test_changing_the_template_or_precision_uses_another_cache_entry(demo_workspace, text_encoder):
    counting = Counting(text_encoder)
    embed_products(demo_workspace, counting)
    counting.items = 0
    embed_products(demo_workspace, counting, template=TextTemplate(fields=("title",)))
    assert counting.items == len(set(demo_workspace.products()["title"]))
    fp32, bf16 = api.load_text_encoder(precision="fp32"), api.load_text_encoder(precision="bf16")
    assert fp32.fingerprint != bf16.fingerprint
    counting = Counting(fp32)
    embed_products(demo_workspace, counting)
    assert counting.items == len(set(TextTemplate().render(demo_workspace.products())))


def test_cancel_keeps_finished_chunks_and_the_rerun_does_the_rest(demo_workspace, text_encoder, monkeypatch):
    monkeypatch.setattr(embedding, "CHUNK", 100)
    counting = Counting(text_encoder)
    distinct = len(set(TextTemplate().render(demo_workspace.products())))
    calls = iter([False, True])
    with pytest.raises(Cancelled, match=f"cancelled after 100 of {distinct} new items"):
        embed_products(demo_workspace, counting, should_stop=lambda: next(calls))
    assert counting.items == 100
    counting.items = 0
    _, stats = embed_products(demo_workspace, counting)
    assert counting.items == distinct - 100


@pytest.mark.datasets
def test_photo_damaged_on_disk_is_reported_and_the_product_falls_back_to_text(root, text_encoder, image_encoder):
    products = pd.read_csv(FLIPKART / "products.csv", dtype=str, keep_default_na=False).head(12)
    images = FLIPKART / "images"
    workspace = ingest(FLIPKART / "products.csv", workspace_dir=root / "fk", images=images).workspace
    table = workspace.products()
    victim = table.index[table["id"] == products["uniq_id"][3]][0]
    damaged = next(workspace.images_dir.glob(f"{table['image_sha1'][victim]}.*"))
    damaged.write_bytes(damaged.read_bytes()[:200])
    vectors, stats = embed_products(workspace, text_encoder, image_encoder)
    assert stats.images_failed == [table["id"][victim]]
    assert not vectors.has_image[victim] and vectors.has_image.sum() == 1046
    assert api.cached_counts(workspace, text_encoder, image_encoder)["photos_cached"] == 1047


def test_empty_title_falls_back_to_the_description(text_encoder):
    products = pd.DataFrame({"title": ["", "Kettle"], "brand": ["Acme", ""], "category": ["", ""],
                             "description": ["Stainless steel teapot with infuser", "1.7 l"]})
    texts = TextTemplate().render(products)
    assert texts == ["Stainless steel teapot with infuser. Acme", "Kettle. 1.7 l"]


def test_the_description_counts_only_words_the_title_and_brand_do_not_already_say():
    products = pd.DataFrame({
        "title": ["Elegance Polyester Eyelet Door Curtain", "Steel Kettle"], "brand": ["Elegance", "Acme"],
        "description": ["Key Features of Elegance Polyester Multicolor Abstract Eyelet Door Curtain (213 cm, Pack of 2)",
                        "STEEL KETTLE, 1.7 l, cordless"]})
    texts = TextTemplate(description_words=6).render(products)
    assert texts == ["Elegance Polyester Eyelet Door Curtain. Elegance. Key Features of Multicolor Abstract (213",
                     "Steel Kettle. Acme. 1.7 l, cordless"]


@pytest.mark.datasets
def test_suggests_the_multilingual_model_for_chinese_catalogs(root, tmp_path, demo_workspace):
    zh = pd.read_csv(FLIPKART.parent / "zh-titles-30cat" / "titles.tsv", sep="\t").head(50)
    path = tmp_path / "zh.csv"
    zh.to_csv(path, index=False)
    chinese = ingest(path, workspace_dir=root / "zh").workspace
    assert api.suggest_text_model(chinese) == "use-multilingual"
    assert api.suggest_text_model(demo_workspace) == "minilm-l6"


def test_cli_embed_reuses_the_cache_across_processes(demo_workspace):
    import json
    import subprocess
    import sys

    from conftest import REPO

    def run() -> tuple[dict, str]:
        out = subprocess.run([sys.executable, "-m", "prodsim", "embed", "--workspace", str(demo_workspace.path)],
                             capture_output=True, text=True, cwd=REPO, check=True)
        return json.loads(out.stdout), out.stderr

    distinct = len(set(TextTemplate().render(demo_workspace.products())))
    (first, first_progress), (second, second_progress) = run(), run()
    assert first["text_encoded"] == distinct and f"Reading product texts: {distinct} of {distinct}" in first_progress
    assert (second["text_encoded"], second["text_cached"]) == (0, 244) and "Reading product texts" not in second_progress
    assert first["text_model"].startswith("MiniLM-L6|text|") and first["text_dim"] == 384
    assert first["image_model"].startswith("EfficientNet-Lite0|image|")  # the demo has photos
    assert (first["images_encoded"], second["images_encoded"], second["images_cached"]) == (244, 0, 244)


def test_settings_persist_and_reject_bad_values(demo_workspace):
    from prodsim.errors import BadInputError
    from prodsim.settings import WorkspaceSettings, load_settings, save_settings

    save_settings(demo_workspace, WorkspaceSettings(template_fields=("title", "brand"), description_words=5, image_weight=0.2))
    again = load_settings(demo_workspace)
    assert (again.template_fields, again.description_words, again.image_weight) == (("title", "brand"), 5, 0.2)
    assert api.model_specs(demo_workspace) == ("minilm-l6", "efficientnet-lite0")  # the demo has photos: used by default
    for bad, message in [({"image_weight": 2.0}, "between 0 and 1"), ({"template_fields": ("price",)}, "must be made of")]:
        with pytest.raises(BadInputError, match=message):
            save_settings(demo_workspace, WorkspaceSettings(**bad))
    assert load_settings(demo_workspace) == again
