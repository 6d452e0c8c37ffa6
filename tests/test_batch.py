"""The Ray Data pipeline on 5,000 of PriceRunner's offers: same vectors as the app's own path, attached to a workspace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import DATASETS, INT8_COSINE_FLOOR, tree_digest
from prodsim import api, batch
from prodsim.errors import BadInputError

ROWS = 5_000  # above INDEX_ABOVE, the approximate-index threshold these tests set; 15k rows took 100 s of CI here
INDEX_ABOVE = 4_000


@pytest.fixture(scope="module")
def offers(tmp_path_factory):
    """The first ROWS PriceRunner offers as a catalog file."""
    path = tmp_path_factory.mktemp("offers") / "offers.csv"
    pd.read_csv(DATASETS / "pricerunner" / "offers.csv", dtype=str, keep_default_na=False).head(ROWS).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def shards(tmp_path_factory, offers):
    """The offers embedded by a local Ray (2 model workers), with an IVF-PQ index (built above INDEX_ABOVE rows)."""
    pytest.importorskip("ray")
    import ray

    out = tmp_path_factory.mktemp("ray") / "vectors"
    manifest = batch.embed_with_ray(str(offers), out, workers=2, index_above=INDEX_ABOVE)
    ray.shutdown()
    return out, manifest


@pytest.mark.datasets
def test_ray_vectors_equal_the_in_process_path(shards, offers, text_encoder):
    out, manifest = shards
    products = api.ingest(offers, workspace_dir=out.parent / "check").workspace.products()
    assert manifest["rows"] == len(products) == ROWS and manifest["workers"] == 2
    assert manifest["text_model"] == text_encoder.fingerprint and manifest["dim"] == 384
    table = batch.read_shards(out, ["id", "text_vector"])
    ray_vectors = pd.DataFrame(batch.vectors_of(table, "text_vector"), index=table.column("id").to_pylist())
    sample = products.sample(2000, random_state=0)
    local = text_encoder.encode(api.TextTemplate().render(sample))
    cosine = (ray_vectors.loc[sample["id"]].to_numpy() * local).sum(axis=1)
    print(f"Ray {manifest['rows_per_second']} rows/s; cosine to in-process on 2,000 rows: min {cosine.min():.5f}, mean {cosine.mean():.6f}")
    if text_encoder.precision == "int8":
        # Dynamic int8 scales activations per batch, so a text's vector moves a little with the texts batched beside
        # it (ONNX Runtime int8, mean / min: Xeon 0.996 / 0.986, AMD EPYC 0.9953 / 0.988); other paths are batch-independent.
        mean_floor, min_floor = INT8_COSINE_FLOOR
        assert cosine.mean() >= mean_floor and cosine.min() >= min_floor
    else:
        assert cosine.min() >= 0.999  # measured 0.99996 (bf16)


@pytest.mark.datasets
def test_attached_shards_fill_the_cache_and_serve_the_index(shards, offers, monkeypatch, root):
    out, manifest = shards
    assert manifest["index"]["kind"] == "ivfpq" and (out / batch.INDEX_FILE).is_file()
    workspace = api.ingest(offers, workspace_dir=root / "pricerunner").workspace
    attached = batch.attach(workspace, out)
    assert attached["products_covered"] == attached["products"] == ROWS
    assert attached["index"].startswith(f"attached ({ROWS:,} vectors, 0 not")
    text = api.load_text_encoder()
    assert api.cached_counts(workspace, text)["texts_cached"] == ROWS  # no model runs when the app opens it
    monkeypatch.setenv("PRODSIM_EXACT_LIMIT", str(INDEX_ABOVE))
    similarity = api.similarity(workspace, text)
    assert not similarity.index.exact  # the shard index, remapped to the workspace's rows
    monkeypatch.delenv("PRODSIM_EXACT_LIMIT")
    exact = api.similarity(workspace, text)  # below the exact limit: every product scored
    assert exact.index.exact
    rows = np.random.default_rng(0).choice(len(workspace.products()), 20, replace=False)
    overlap = [len(set(similarity.neighbours(r, k=10)["candidate"]) & set(exact.neighbours(r, k=10)["candidate"])) / 10 for r in rows]
    print(f"hybrid top-10 from IVF-PQ candidates vs every product scored: overlap {np.mean(overlap):.3f}")
    assert np.mean(overlap) >= 0.9


def test_bad_inputs_are_refused(tmp_path, demo_workspace):
    with pytest.raises(BadInputError, match="No file matches"):
        batch.embed_with_ray(str(tmp_path / "missing-*.csv"), tmp_path / "out")
    before = tree_digest(demo_workspace.path)
    with pytest.raises(BadInputError, match="not the output"):
        batch.attach(demo_workspace, tmp_path)
    assert tree_digest(demo_workspace.path) == before
