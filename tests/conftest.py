"""Shared fixtures: dataset paths, workspaces in temporary folders, models loaded once."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"
DEMO_CATALOG = REPO / "assets" / "demo_catalog.csv"
FLIPKART = DATASETS / "flipkart-1050"


def tree_digest(path: Path) -> dict[str, str]:
    """Every file under ``path`` with the SHA-1 of its bytes (empty dict if it does not exist)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty workspaces folder, also set as the default root."""
    folder = tmp_path / "workspaces"
    folder.mkdir()
    monkeypatch.setenv("PRODSIM_WORKSPACES", str(folder))
    return folder


@pytest.fixture
def demo_workspace(root):
    """The demo catalog ingested into a fresh workspace."""
    from prodsim.ingest import ingest

    return ingest(DEMO_CATALOG, workspace_dir=root / "demo", name="Demo").workspace


@pytest.fixture(scope="session")
def flipkart_zip() -> bytes:
    """Flipkart's photo folder as one ZIP."""
    return make_zip({p.name: p.read_bytes() for p in sorted((FLIPKART / "images").iterdir())})


@pytest.fixture(scope="session")
def text_encoder():
    """The default text encoder (auto precision), loaded once per test session."""
    from prodsim.encoders.registry import load_text_encoder

    return load_text_encoder()


@pytest.fixture(scope="session")
def image_encoder():
    """The default image encoder, loaded once per test session."""
    from prodsim.encoders.registry import load_image_encoder

    return load_image_encoder()
