"""The vector store at scale: linear bytes written, survival of a kill between batches, old caches read."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd

from conftest import REPO
from prodsim.embedding import embed_products
from prodsim.encoders.base import Encoder, l2_normalise
from prodsim.ingest import ingest
from prodsim.vector_cache import VectorCache, text_key


class HashingEncoder(Encoder):
    """A model stand-in: 32-d vectors from a text's hash (the store is under test, not the model)."""

    modality, dim = "text", 32

    def __init__(self, stop_after_batches: int | None = None):
        self.batches, self.stop_after_batches = 0, stop_after_batches

    @property
    def fingerprint(self) -> str:
        return "hashing|text|1|fp32"

    def forward(self, prepared_batch: list) -> np.ndarray:
        self.batches += 1
        if self.stop_after_batches is not None and self.batches > self.stop_after_batches:
            import os

            os._exit(9)  # as if the server were killed in the middle of reading
        seeds = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) for t in prepared_batch]
        return l2_normalise(np.stack([np.random.default_rng(s).normal(size=self.dim) for s in seeds]).astype(np.float32))


def catalog(path, start: int, count: int):
    """A made-up catalog of ``count`` products, ids from ``start``."""
    ids = range(start, start + count)
    pd.DataFrame({"id": [f"P{i}" for i in ids], "title": [f"Product number {i} in size {i % 7}" for i in ids]}).to_csv(path, index=False)
    return path


def stored_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("chunk-*.npz"))


def test_embedding_three_times_ten_thousand_writes_bytes_linear_in_n(root, tmp_path, monkeypatch):
    import prodsim.vector_cache as store

    written = []
    real_write = store.atomic_write_bytes
    monkeypatch.setattr(store, "atomic_write_bytes", lambda path, data: written.append(len(data)) or real_write(path, data))
    encoder = HashingEncoder()
    for week in range(3):  # the catalog grows by 10k products a week
        workspace = ingest(catalog(tmp_path / f"week{week}.csv", 0, 10_000 * (week + 1)), workspace_dir=root / "big").workspace
        _, stats = embed_products(workspace, encoder)
        assert stats.text_encoded == 10_000 and stats.text_cached == 10_000 * week
    final = stored_bytes(workspace.vectors_dir)
    assert len(VectorCache(workspace.vectors_dir, encoder.fingerprint, encoder.dim)) == 30_000
    assert final / 30_000 < 32 * 4 + 40 + 8  # a float32 vector, its 40-byte key and a little header
    # Measured 2.1x the store; rewriting one file per batch of 256, as before, wrote about 59x at 30k.
    print(f"bytes written {sum(written):,} for a store of {final:,} ({sum(written) / final:.2f}x)")
    assert sum(written) <= 3 * final


def test_bytes_written_stay_a_small_multiple_of_the_store(tmp_path):
    """Each batch is one new chunk; merges rewrite a vector about log_16(n / batch) times, never n / batch times."""
    cache = VectorCache(tmp_path, "fp", 32)
    rng = np.random.default_rng(0)
    for start in range(0, 30_000, 256):
        keys = [f"{i:040x}" for i in range(start, min(start + 256, 30_000))]
        cache.add(keys, rng.normal(size=(len(keys), 32)).astype(np.float32))
    final = stored_bytes(tmp_path)
    # Measured 2.0x; the old one-file cache rewrote everything per batch: about 59x at 30k (n / 2 / 256).
    assert cache.bytes_written <= 3 * final
    assert len(list(tmp_path.rglob("chunk-*.npz"))) < 20
    again = VectorCache(tmp_path, "fp", 32)
    assert len(again) == 30_000


def test_chunks_finished_before_a_kill_are_kept(root, tmp_path):
    path = catalog(tmp_path / "catalog.csv", 0, 2_000)
    workspace = ingest(path, workspace_dir=root / "big").workspace
    script = f"""
import sys
sys.path.insert(0, {str(REPO / 'tests')!r}); sys.path.insert(0, {str(REPO)!r})
import prodsim.embedding as embedding
from prodsim.workspace import Workspace
from test_vector_store import HashingEncoder
embedding.CHUNK = 256
embedding.embed_products(Workspace({str(workspace.path)!r}), HashingEncoder(stop_after_batches=17))
"""
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    encoder = HashingEncoder()
    _, stats = embed_products(workspace, encoder)
    # 17 batches of 64 = 4 chunks of 256 finished and saved before the kill (the 5th chunk was one batch in).
    assert stats.text_cached == 4 * 256 and stats.text_encoded == 2_000 - 4 * 256


def test_a_cache_from_an_older_prodsim_is_read_without_embedding_again(root, tmp_path):
    path = catalog(tmp_path / "catalog.csv", 0, 500)
    workspace = ingest(path, workspace_dir=root / "old").workspace
    encoder = HashingEncoder()
    texts = pd.read_csv(path)["title"].tolist()
    vectors = encoder.encode(texts)
    stem = hashlib.sha1(encoder.fingerprint.encode()).hexdigest()[:16]
    buffer = io.BytesIO()  # the one-file layout earlier releases wrote
    np.savez(buffer, keys=np.array([text_key(t) for t in texts], dtype="U40"), vectors=vectors)
    workspace.vectors_dir.mkdir()
    (workspace.vectors_dir / f"{stem}.npz").write_bytes(buffer.getvalue())
    (workspace.vectors_dir / f"{stem}.json").write_text(json.dumps({"fingerprint": encoder.fingerprint, "dim": 32, "count": 500}))
    encoder.batches = 0
    read, stats = embed_products(workspace, encoder)
    assert encoder.batches == 0 and stats.text_cached == 500 and np.allclose(read.text, vectors)
    assert stats.notes and "converted to the new store (500 vectors); none had to be read again" in stats.notes[0]
    _, again = embed_products(workspace, encoder)
    assert not again.notes and not (workspace.vectors_dir / f"{stem}.npz").exists()
