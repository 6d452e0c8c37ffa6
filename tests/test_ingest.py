"""Ingesting Flipkart with its photos, image decoding edge cases, and the workspace on disk."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import DEMO_CATALOG, FLIPKART, REPO
from prodsim.images import load_rgb
from prodsim.ingest import ingest
from prodsim.workspace import Workspace, list_workspaces


@pytest.mark.datasets
def test_flipkart_with_photo_zip(root, flipkart_zip):
    result = ingest(FLIPKART / "products.csv", workspace_dir=root / "flipkart", images=flipkart_zip, images_name="images.zip")
    report, workspace = result.report, result.workspace
    assert (report.rows_kept, report.images_matched, report.images_missing) == (1050, 1047, 3)
    assert report.rejected == [] and report.images_unmatched == [] and report.images_corrupt == []
    assert "1,047 products have a photo; 3 have none." in report.summary_lines()
    products = workspace.products()
    with_photo = products[products["image_sha1"] != ""]
    assert len(with_photo) == 1047
    thumb = Image.open(workspace.thumbnail_path(with_photo["image_sha1"].iloc[0]))
    assert max(thumb.size) <= 192
    assert json.loads((workspace.path / "quality.json").read_text())["images_matched"] == 1047


@pytest.mark.datasets
def test_cli_ingest_prints_rows_rejected_and_images_matched(tmp_path, flipkart_zip):
    archive = tmp_path / "images.zip"
    archive.write_bytes(flipkart_zip)
    out = subprocess.run([sys.executable, "-m", "prodsim", "ingest", str(FLIPKART / "products.csv"),
                          "--workspace", str(tmp_path / "ws"), "--images", str(archive)],
                         capture_output=True, text=True, cwd=REPO, check=True)
    result = json.loads(out.stdout)
    assert (result["rows"], result["rejected"], result["images_matched"]) == (1050, 0, 1047)


def encoded(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    assert load_rgb(encoded(wide, "JPEG", exif=exif)).size == (20, 40)


@pytest.mark.parametrize(("mode", "fmt"), [("CMYK", "JPEG"), ("P", "PNG"), ("RGBA", "PNG"), ("LA", "PNG"), ("L", "JPEG")])
def test_unusual_colour_modes_become_rgb(mode, fmt):
    image = Image.new(mode, (16, 16))
    assert load_rgb(encoded(image, fmt)).mode == "RGB"


def test_transparent_background_becomes_white():
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    pixels = np.asarray(load_rgb(encoded(image, "PNG")))
    assert (pixels == 255).all()


def test_workspaces_list_rename_delete_and_keep_history(root):
    first = ingest(DEMO_CATALOG, workspace_dir=root / "demo", name="Demo").workspace
    second = ingest(DEMO_CATALOG, workspace_dir=root / "copy", name="A copy").workspace
    assert [w.name for w in list_workspaces(root)] == ["A copy", "Demo"]
    second.rename("Zebra range")
    assert [w.name for w in list_workspaces(root)] == ["Demo", "Zebra range"]
    assert Workspace(root / "copy").history()[0]["details"] == {"from": "A copy", "to": "Zebra range"}
    second.delete()
    assert [w.slug for w in list_workspaces(root)] == ["demo"]
    assert sorted(p.name for p in root.iterdir()) == ["demo"]
    mode = sqlite3.connect(first.path / "prodsim.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


@pytest.mark.datasets
def test_re_ingest_updates_rows_and_keeps_photos_of_remaining_products(root, tmp_path, flipkart_zip):
    workspace = ingest(FLIPKART / "products.csv", workspace_dir=root / "fk", images=flipkart_zip).workspace
    before = workspace.products().set_index("id")["image_sha1"]
    smaller = tmp_path / "products.csv"
    pd.read_csv(FLIPKART / "products.csv", dtype=str, keep_default_na=False).head(100).to_csv(smaller, index=False)
    result = ingest(smaller, workspace_dir=root / "fk")
    after = result.workspace.products().set_index("id")["image_sha1"]
    assert len(after) == 100 and (after == before[after.index]).all()
    assert [h["action"] for h in result.workspace.history()] == ["ingest", "ingest"]
