"""Batch embedding of very large catalogs on Ray Data, and attaching the result to a workspace.

``python -m prodsim embed --engine ray`` reads catalog files with Ray Data, turns each batch
into products exactly as an upload does (:func:`prodsim.catalog.build_products`), and embeds
them with the app's encoder classes in actors that each hold one model (one per GPU when the
cluster has GPUs, else one per CPU worker). Vectors are written as Parquet shards with the
content keys the workspace's vector cache uses, so :func:`attach` only copies them in: the app
then reads every product's vector from its cache and runs no model.

Above ``index_above`` rows an approximate index (IVF-PQ or HNSW) is built from the shards and
saved beside them; :func:`attach` hands it to the workspace, whose neighbour search then asks
it for candidates and re-scores them with the full hybrid similarity.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.catalog import RawTable, build_products, guess_mapping
from prodsim.embedding import TextTemplate
from prodsim.errors import BadInputError
from prodsim.vector_cache import VectorCache, text_key
from prodsim.workspace import Workspace, atomic_write_json, check_writable

MANIFEST = "manifest.json"
INDEX_FILE, INDEX_IDS = "index.faiss", "index_ids.npy"
INDEX_ABOVE = 200_000  # shards this large get an index; a workspace uses it above prodsim.index.exact_limit()


def _input_files(inputs: str | list[str]) -> list[str]:
    """Local files from globs; remote URIs (s3://, gs://...) and folders are passed to Ray Data as they are."""
    patterns = [inputs] if isinstance(inputs, str) else list(inputs)
    files = sorted({f for pattern in patterns
                    for f in ([pattern] if "://" in pattern or Path(pattern).is_dir() else glob.glob(pattern))})
    if not files:
        raise BadInputError(f"No file matches {', '.join(patterns)}.")
    suffixes = {Path(f.rstrip("/")).suffix.lower() or ".parquet" for f in files}  # a folder: Parquet parts
    if not suffixes <= {".csv", ".parquet"}:
        raise BadInputError(f"The Ray pipeline reads CSV or Parquet files; got {', '.join(sorted(suffixes))}.")
    if len(suffixes) > 1:
        raise BadInputError("Give CSV files or Parquet files, not both in one run.")
    return files


class ProductEmbedder:
    """A Ray Data actor: holds one encoder, turns a batch of catalog rows into (id, key, vector) rows."""

    def __init__(self, text_model: str | None, mapping: dict, template: TextTemplate, device: str, precision: str,
                 image_model: str | None = None, images_dir: str | None = None):
        from prodsim.encoders.registry import load_image_encoder, load_text_encoder

        self.text = load_text_encoder(text_model, device, precision)
        self.image = load_image_encoder(image_model, device, precision) if images_dir else None
        self.mapping, self.template, self.images_dir = mapping, template, images_dir

    def __call__(self, batch: pd.DataFrame):
        import pyarrow as pa

        frame = batch.astype(object).where(batch.notna(), "").astype(str)
        products, _ = build_products(RawTable(frame=frame.reset_index(drop=True), encoding="utf-8", source_name="batch"),
                                     self.mapping)
        texts = self.template.render(products)
        columns = {"id": pa.array(products["id"].tolist(), pa.string()), "text_key": pa.array([text_key(t) for t in texts]),
                   "text_model": pa.array([self.text.fingerprint] * len(texts)),
                   "text_vector": _fixed_lists(self.text.encode(texts))}
        if self.image is not None:
            names = products["image"] if "image" in products else pd.Series("", index=products.index)
            photos = [(Path(self.images_dir) / name).read_bytes() if name and (Path(self.images_dir) / name).is_file() else b""
                      for name in names]
            keep = [i for i, data in enumerate(photos) if data]
            vectors = np.zeros((len(photos), self.image.dim), dtype=np.float32)
            if keep:
                vectors[keep] = self.image.encode([photos[i] for i in keep])
            columns["image_sha1"] = pa.array([hashlib.sha1(data).hexdigest() if data else "" for data in photos])
            columns["image_vector"] = _fixed_lists(vectors)
        return pa.table(columns)


def _fixed_lists(vectors: np.ndarray):
    """(n, d) float32 as an Arrow fixed-size list column (read back without copies, see :func:`vectors_of`)."""
    import pyarrow as pa

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1])


def vectors_of(table, column: str) -> np.ndarray:
    """A fixed-size list column as an (n, d) float32 array."""
    array = table.column(column).combine_chunks()
    return np.asarray(array.values, dtype=np.float32).reshape(len(array), array.type.list_size)


def embed_with_ray(inputs: str | list[str], out: str | Path, *, address: str | None = None, workers: int | None = None,
                   text_model: str | None = None, image_model: str | None = None, images_dir: str | None = None,
                   mapping: dict | None = None, template: TextTemplate = TextTemplate(), batch_size: int = 512,
                   device: str = "auto", precision: str = "auto", index_above: int = INDEX_ABOVE,
                   index_kind: str = "ivfpq") -> dict:
    """Embeds catalog files on Ray Data and writes Parquet shards (and an index for large outputs) to ``out``.

    Args:
        inputs: a glob or list of CSV or Parquet files (one catalog split in parts).
        address: a Ray cluster ("ray://host:10001" or "auto"); None starts a local Ray with ``workers`` CPUs.
        workers: model-holding actors (default: one per GPU, else one per CPU).
        mapping: field -> column overrides; the rest is guessed from the first file, as an upload would be.

    Returns:
        The manifest written beside the shards: model fingerprint, rows, seconds, rows per second.
    """
    import ray

    files = _input_files(inputs)
    out = Path(out)
    shards = out / "shards"
    if shards.exists() and any(shards.iterdir()):
        raise BadInputError(f"{shards} already holds shards; choose an empty --out folder.")
    is_csv = files[0].endswith(".csv")
    sample = (pd.read_csv(files[0], dtype=str, keep_default_na=False, nrows=1000) if is_csv
              else pd.read_parquet(files[0]).head(1000).astype(str))
    chosen = guess_mapping(sample) | {k: v for k, v in (mapping or {}).items() if v}
    started = time.perf_counter()
    if not ray.is_initialized():
        # Locally, one logical CPU more than the model workers: reading and writing blocks need one,
        # and actors holding every CPU would leave the read task waiting forever.
        local_cpus = (workers or os.cpu_count() or 1) + 1
        ray.init(address=address, num_cpus=None if address else local_cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    gpus = int(ray.cluster_resources().get("GPU", 0))
    workers = workers or gpus or max(int(ray.cluster_resources().get("CPU", 2)) - 1, 1)
    if is_csv:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in sample.columns}, strings_can_be_null=False)
        dataset = ray.data.read_csv(files, convert_options=convert)
    else:
        dataset = ray.data.read_parquet(files)
    vectors = dataset.map_batches(
        ProductEmbedder, batch_size=batch_size, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=workers),
        num_gpus=1 if gpus else 0, num_cpus=1,
        fn_constructor_kwargs={"text_model": text_model, "mapping": chosen, "template": template, "device": device,
                               "precision": precision, "image_model": image_model, "images_dir": images_dir})
    vectors.write_parquet(str(shards))
    seconds = time.perf_counter() - started
    written = read_shards(out, ["id", "text_model", "text_vector"])
    models = written.column("text_model").unique().to_pylist()
    if len(models) != 1:
        raise BadInputError(f"The workers used different model settings ({', '.join(models)}); give --device and --precision.")
    rows = written.num_rows
    manifest = {"text_model": models[0], "dim": written.schema.field("text_vector").type.list_size, "rows": rows,
                "template": {"fields": list(template.fields), "description_words": template.description_words},
                "mapping": chosen, "inputs": files, "workers": workers, "gpus": gpus, "address": address or "local",
                "seconds": round(seconds, 1), "rows_per_second": round(rows / max(seconds, 1e-9), 1)}
    if rows > index_above:
        manifest["index"] = build_shard_index(out, written, index_kind)
    atomic_write_json(out / MANIFEST, manifest)
    return manifest


def read_shards(folder: str | Path, columns: list[str] | None = None):
    """The shards as one Arrow table (id, text_key, text_model, text_vector[, image_sha1, image_vector])."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = sorted((Path(folder) / "shards").glob("*.parquet"))
    if not paths:
        raise BadInputError(f"{folder} holds no vector shards; run `python -m prodsim embed --engine ray --out {folder}` first.")
    return pa.concat_tables([pq.read_table(p, columns=columns) for p in paths])


def build_shard_index(folder: Path, table, kind: str = "ivfpq") -> dict:
    """Builds an approximate index over the shards' text vectors (``table``: :func:`read_shards` with id and
    text_vector); saves it and the ids in its order beside the shards."""
    from prodsim.index.hnsw import HNSWIndex
    from prodsim.index.ivfpq import IVFPQIndex

    started = time.perf_counter()
    index = (IVFPQIndex() if kind == "ivfpq" else HNSWIndex()).fit(vectors_of(table, "text_vector"))
    index.save(folder / INDEX_FILE)
    np.save(folder / INDEX_IDS, np.asarray(table.column("id").to_pylist(), dtype=str))
    return {"kind": kind, "rows": table.num_rows, "seconds": round(time.perf_counter() - started, 1)}


def attach(workspace: Workspace, folder: str | Path) -> dict:
    """Copies shard vectors into the workspace's cache (and its approximate index, when one was built).

    Returns:
        {"vectors_added", "products", "products_covered", "index"}: covered products will not be
        embedded again; the rest (other text template, products not in the shards) will be.
    """
    from prodsim.api import model_specs
    from prodsim.index import attach_index
    from prodsim.settings import load_settings

    check_writable("attaching vectors", "admin")
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise BadInputError(f"{folder} has no {MANIFEST}: it is not the output of `python -m prodsim embed --engine ray`.")
    manifest = json.loads((folder / MANIFEST).read_text())
    table = read_shards(folder, ["text_key", "text_vector"])
    cache = VectorCache(workspace.vectors_dir, manifest["text_model"], manifest["dim"])
    keys = table.column("text_key").to_pylist()
    _, found = cache.lookup(keys)
    new = ~found
    unique_new, first = np.unique(np.asarray(keys)[new], return_index=True)  # one vector per distinct text
    if len(unique_new):
        cache.add(unique_new.tolist(), vectors_of(table, "text_vector")[np.flatnonzero(new)[first]])
    products = workspace.products()
    text, covered = cache.lookup([text_key(t) for t in load_settings(workspace).template().render(products)])
    result = {"vectors_added": len(unique_new), "products": len(products), "products_covered": int(covered.sum()),
              "text_model": manifest["text_model"]}
    if (folder / INDEX_FILE).is_file():
        if covered.all() and model_specs(workspace)[1] is None:
            result["index"] = attach_index(workspace.path / "index", folder / INDEX_FILE, np.load(folder / INDEX_IDS),
                                           products["id"].to_numpy().astype(str), text)
        else:
            result["index"] = "not attached: the workspace uses photos or not every product has a shard vector"
    workspace.record("attach_vectors", {"folder": str(folder), "added": result["vectors_added"]})
    return result
