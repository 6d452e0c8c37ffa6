"""Every kind of bad input gets a clear message and leaves the workspaces byte-for-byte unchanged."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from PIL import Image

from conftest import DEMO_CATALOG, DEMO_PHOTOS, make_zip, tree_digest
from prodsim.errors import BadInputError
from prodsim.ingest import attach_images, ingest

SLICE = 20


@pytest.fixture
def demo_slice(root, tmp_path):
    """A workspace of 20 demo products with their photos (one left out), plus the catalog rows."""
    products = pd.read_csv(DEMO_CATALOG, dtype=str, keep_default_na=False).head(SLICE)
    catalog = tmp_path / "slice.csv"
    products.to_csv(catalog, index=False)
    photos = {f"{pid}.jpg": (DEMO_PHOTOS / f"{pid}.jpg").read_bytes() for pid in products["id"][:-1]}
    workspace = ingest(catalog, workspace_dir=root / "slice", images=make_zip(photos), images_name="photos.zip").workspace
    return workspace, products


def refused(root, call, *args, **kwargs) -> str:
    """Runs a call that must fail; returns its message after checking nothing on disk changed."""
    before = tree_digest(root)
    with pytest.raises(BadInputError) as caught:
        call(*args, **kwargs)
    assert tree_digest(root) == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "staging folders left behind"
    return str(caught.value)


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.csv", b"", "is empty"),
    ("header_only.csv", "id,title,price\n", "has a header line but no product rows"),
    ("ragged.csv", "id,title,price\n1,Kettle,20\n2,Mug,3,blue,extra\n3,Pan\n", "2 rows do not have the 3 fields of the header (row 2 has 5, row 3 has 2)"),
    ("numbers.csv", "id,price\n1,20\n2,30\n", "has no usable title column"),
    ("dupes.csv", "id,title\nA1,Kettle\nA2,Mug\nA1,Kettle red\n", "1 ids appear more than once ('A1' in rows 1, 3)"),
    ("notes.docx", "id,title\n1,Kettle\n", "files of type '.docx' are not supported"),
    ("broken.json", '[{"id": 1, "title": "Kettle"},', "is not valid JSON"),
])
def test_bad_catalog_files(demo_slice, root, tmp_path, name, content, expected):
    message = refused(root, ingest, write(tmp_path, name, content), workspace_dir=root / "new")
    assert expected in message


def test_binary_junk_named_csv(demo_slice, root, tmp_path):
    junk = write(tmp_path, "catalog.csv", jpeg_bytes())
    assert "does not look like a text table" in refused(root, ingest, junk, workspace_dir=root / "new")


def test_ids_all_empty(demo_slice, root, tmp_path):
    path = write(tmp_path, "noids.csv", "sku,title\n,Kettle\n,Mug\n")
    message = refused(root, ingest, path, workspace_dir=root / "new", mapping={"id": "sku"})
    assert "the id column 'sku' is empty in every row" in message and "(row number)" in message


def test_re_ingest_with_a_bad_file_keeps_the_existing_workspace(demo_slice, root, tmp_path):
    path = write(tmp_path, "dupes.csv", "id,title\nA1,Kettle\nA1,Mug\n")
    assert "appear more than once" in refused(root, ingest, path, workspace_dir=root / "slice")


def test_upload_over_the_size_cap(demo_slice, root, tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", "id,title\n" + "".join(f"{i},Kettle number {i}\n" for i in range(2000)))
    monkeypatch.setenv("PRODSIM_MAX_UPLOAD_MB", "0.01")
    message = refused(root, ingest, path, workspace_dir=root / "new")
    assert "big.csv is 45 KB, over the 10 KB upload limit" in message and "server.maxUploadSize" in message


def jpeg_bytes() -> bytes:
    return (DEMO_PHOTOS / "DEMO-0001.jpg").read_bytes()


def bomb_png() -> bytes:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")  # 400 megapixels, a few KB on disk
    return out.getvalue()


@pytest.mark.parametrize(("entry", "data", "expected"), [
    ("{id}.jpg", b"", "the file is empty (0 bytes)"),
    ("{id}.jpg", jpeg_bytes()[:2000], "damaged or truncated"),
    ("{id}.png", bomb_png(), "too large to open safely"),
    ("readme.txt", b"photos for the summer range", "readme.txt: not an image file"),
    ("unknown-product.jpg", jpeg_bytes(), "unknown-product.jpg: matches no product"),
])
def test_bad_photos(demo_slice, root, entry, data, expected):
    workspace, products = demo_slice
    # Stored, not deflated: a deflated bomb PNG would already trip the archive's ratio check.
    archive = make_zip({entry.format(id=products["id"][0]): data}, zipfile.ZIP_STORED)
    message = refused(root, attach_images, workspace, archive, "photos.zip")
    assert "None of the photos in photos.zip could be used" in message and expected in message


@pytest.mark.parametrize("evil", ["../../outside.jpg", "/etc/outside.jpg"])
def test_zip_slip_is_refused(demo_slice, root, evil):
    workspace, _ = demo_slice
    message = refused(root, attach_images, workspace, make_zip({evil: jpeg_bytes()}), "evil.zip")
    assert "point outside the archive" in message


def test_zip_bomb_ratio_is_refused(demo_slice, root):
    workspace, products = demo_slice
    archive = make_zip({f"{products['id'][0]}.jpg": b"\0" * (30 * 1024 * 1024)})
    message = refused(root, attach_images, workspace, archive, "bomb.zip")
    assert "would unpack to 30 MB from 30 KB" in message and "100x ratio" in message


def test_zip_over_the_unpacked_cap_is_refused(demo_slice, root, monkeypatch):
    workspace, products = demo_slice
    monkeypatch.setenv("PRODSIM_MAX_UNZIPPED_MB", "0.01")
    archive = make_zip({f"{pid}.jpg": jpeg_bytes() for pid in products["id"][:10]})
    assert "the 10 KB cap allowed for photos" in refused(root, attach_images, workspace, archive, "many.zip")


def test_not_a_zip_is_refused(demo_slice, root):
    workspace, _ = demo_slice
    assert "is not a ZIP archive" in refused(root, attach_images, workspace, b"plain text, not a zip", "photos.zip")


def test_mixed_archive_keeps_the_good_photos_and_reports_the_rest(demo_slice, root):
    workspace, products = demo_slice
    target = products["id"][1]
    archive = make_zip({f"{target}.jpg": jpeg_bytes(), "notes.txt": b"x", "stray.jpg": jpeg_bytes(),
                        f"{products['id'][2]}.jpg": b""})
    report = attach_images(workspace, archive, "mixed.zip")
    assert report.files_skipped == ["notes.txt"] and report.images_unmatched == ["stray.jpg"]
    assert [c["file"] for c in report.images_corrupt] == [f"{products['id'][2]}.jpg"]
    stored = workspace.products().set_index("id")["image_sha1"]
    assert workspace.thumbnail_path(stored[target]) is not None
    assert report.images_matched == SLICE - 1  # the slice's last product never had a photo


def test_catalog_too_big_for_memory_is_refused_before_reading(demo_workspace, text_encoder, monkeypatch):
    """A reading pass that cannot fit is refused at the start, with the size it needs and the batch-job way out;
    nothing is read or written. With enough memory the same call reads the catalog."""
    from prodsim import api
    from prodsim.capacity import bytes_needed

    products = len(demo_workspace.products())
    needed = bytes_needed(products, text_encoder.dim)
    monkeypatch.setenv("PRODSIM_MEMORY_GB", str(needed / 2 / 1e9))
    before = tree_digest(demo_workspace.path)
    with pytest.raises(BadInputError, match=r"need about .* GB of memory.*Nothing was started.*attach-vectors"):
        api.embed(demo_workspace, text_encoder, use_images=False)
    assert tree_digest(demo_workspace.path) == before
    monkeypatch.setenv("PRODSIM_MEMORY_GB", str(needed * 2 / 1e9))
    vectors, stats = api.embed(demo_workspace, text_encoder, use_images=False)
    assert stats.text_encoded > 0 and stats.text_encoded + stats.text_cached == products  # (identical texts are read once)
    monkeypatch.setenv("PRODSIM_MEMORY_GB", "0.001")  # everything read: reopening is not a reading pass, never refused
    assert api.embed(demo_workspace, text_encoder, use_images=False)[1].text_encoded == 0


# --- files as real exports go wrong: read right, or refused with what to do (none of these may end in a traceback) ---
def test_text_exports_that_trip_parsers_are_read_right():
    from prodsim.catalog import read_table

    unicode_text = read_table("id\ttitle\n1\tKettle\n2\tMug\n".encode("utf-16"), "excel-unicode.txt")  # Excel's UTF-16
    assert unicode_text.encoding == "utf-16" and unicode_text.frame["title"].tolist() == ["Kettle", "Mug"]
    declared = read_table(b"sep=;\nid;title;price\n1;Kettle;2,50\n", "excel.csv")  # Excel's separator line
    assert list(declared.frame.columns) == ["id", "title", "price"] and declared.frame["price"][0] == "2,50"
    long_cell = read_table(b"id,title,description\n1,Kettle," + b"x" * 300_000 + b"\n2,Mug,m\n", "long.csv")  # over csv's 128 KB
    assert len(long_cell.frame["description"][0]) == 300_000 and len(long_cell.frame) == 2
    late_nul = read_table(b"id,title\n" + b"1,Kettle\n" * 2000 + b"2,Mu\x00g\n", "nul.csv")  # NUL past the first kilobytes
    assert late_nul.frame["title"].iloc[-1] == "Mug" and len(late_nul.frame) == 2001
    stray = read_table(b'id,title\n1,"12"" Kettle"\n2,Mug 5" tall\n', "inches.csv")  # a stray quote inside a value is text
    assert stray.frame["title"].tolist() == ['12" Kettle', 'Mug 5" tall']


def test_json_documents_are_read_as_a_list_of_products_whatever_their_layout():
    import json

    from prodsim.catalog import read_table

    products = [{"id": "1", "title": "Kettle"}, {"id": "2", "title": "Mug \ud800 blue"}]
    for text in (json.dumps({"products": products}, indent=2), json.dumps({"products": products}), json.dumps(products)):
        frame = read_table(text.encode("utf-8"), "catalog.json").frame
        assert frame["id"].tolist() == ["1", "2"]
    assert frame["title"][1] == "Mug \ufffd blue"  # a lone surrogate cannot be stored; it becomes the replacement mark
    lines = read_table(b'{"id": "1", "title": "a"}\n{"id": "2", "title": "b"}\n', "catalog.json").frame
    assert lines["title"].tolist() == ["a", "b"]


@pytest.mark.parametrize("data, name, expected", [
    (b'id,title\n1,"Kettle\n2,Mug\n3,Cup\n', "unclosed.csv", "a quote opened on line 2 is never closed"),
    (b"[" * 100_000 + b"]" * 100_000, "deep.json", "nests its JSON too deeply"),
])
def test_malformed_text_is_refused_with_where_and_what_to_do(root, data, name, expected):
    message = refused(root, ingest, data, workspace_dir=root / "bad", catalog_name=name)
    assert expected in message


def test_prices_are_read_as_one_price_or_left_empty_and_counted():
    from prodsim.catalog import parse_price

    written = {"Rs. 1,299": 1299.0, "₹1,299": 1299.0, "approx. 40": 40.0, "1e3": 1000.0, "1 299,00": 1299.0,
               "1.299.000": 1299000.0, "USD 20": 20.0, "12,99 €": 12.99, "2 for $5": None, "40-60": None, "-5": None}
    read = parse_price(pd.Series(list(written))).tolist()
    assert [None if pd.isna(v) else v for v in read] == list(written.values())


def test_excel_keeps_ids_that_look_like_missing_values(tmp_path):
    from prodsim.catalog import read_table

    path = tmp_path / "ids.xlsx"
    pd.DataFrame({"id": ["NA", "null", "None", "A1"], "title": ["Kettle", "Mug", "Cup", "Jug"]}).to_excel(path, index=False)
    assert read_table(path).frame["id"].tolist() == ["NA", "null", "None", "A1"]


def test_cli_arguments_out_of_range_print_one_json_error(demo_workspace):
    import json
    import subprocess
    import sys

    from conftest import REPO

    for args, expected in ((["recommend-eval", "--k", "0"], "--k: 0 is not at least 1"),
                           (["recommend-eval", "--content-weight", "1.5"], "--content-weight: 1.5 is not between 0 and 1"),
                           (["cluster", "--method", "kmeans", "--k", "100000"], "k-means needs between 2 and 244 groups")):
        done = subprocess.run([sys.executable, "-m", "prodsim", *args, "--workspace", str(demo_workspace.path)], cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode != 0 and expected in json.loads(done.stdout)["error"] and "Traceback" not in done.stderr


def test_workspace_folders_that_cannot_take_a_catalog_are_refused_before_any_work(root, tmp_path):
    catalog = b"id,title\n1,Kettle\n2,Mug\n"
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "holiday-photos").mkdir()
    (tmp_path / "holiday-photos" / "beach.jpg").write_bytes(b"x")
    damaged = ingest(catalog, workspace_dir=root / "damaged", catalog_name="c.csv").workspace
    (damaged.path / "meta.json").write_text("{ not json")
    for folder, expected in ((tmp_path / "a-file", "is a file, not a folder"),
                             (tmp_path / "holiday-photos", "already holds other files and is not a prodsim workspace"),
                             (damaged.path, "meta.json is damaged")):
        before = tree_digest(tmp_path)
        with pytest.raises(BadInputError, match=expected):
            ingest(catalog, workspace_dir=folder, catalog_name="c.csv")
        assert tree_digest(tmp_path) == before
    with pytest.raises(BadInputError, match="does not exist: give a ZIP archive or a folder"):
        ingest(catalog, workspace_dir=root / "new", catalog_name="c.csv", images=tmp_path / "missing.zip")
    assert not (root / "new").exists()


def test_a_different_catalog_under_the_same_ids_does_not_keep_the_other_products_photos(demo_slice, root, tmp_path):
    workspace, products = demo_slice
    changed = products.copy()
    changed.loc[:4, "title"] = ["Garden hose 20 m", "Tent for two", "Bicycle bell", "Yoga mat", "Desk lamp"]
    changed.loc[5, "title"] = products.loc[5, "title"] + " (new box)"  # the same product, a retouched title
    changed.to_csv(tmp_path / "changed.csv", index=False)
    result = ingest(tmp_path / "changed.csv", workspace_dir=workspace.path)
    photos = result.workspace.products().set_index("id")["image_sha1"]
    assert (photos[products["id"][:5]] == "").all() and photos[products["id"][5]] != ""
    assert result.report.images_dropped == 5 and "5 photos of the previous catalog were not kept" in " ".join(result.report.summary_lines())


def test_a_report_over_a_folder_or_into_a_missing_folder_is_refused_at_once(demo_workspace, tmp_path):
    from prodsim import api

    for out, expected in ((tmp_path, "is a folder; give the report a file name"), (tmp_path / "no" / "r.html", "does not exist")):
        with pytest.raises(BadInputError, match=expected):
            api.report(demo_workspace, out)


def read_events(rows: list[list[str]]):
    from prodsim.catalog import RawTable
    from prodsim.insights.behaviour import read_log

    products = pd.DataFrame({"id": ["A1", "A2", "A3"], "title": ["Kettle", "Mug", "Cup"]})
    frame = pd.DataFrame(rows, columns=["user", "product", "timestamp", "quantity"])
    mapping = {name: name for name in frame.columns}
    return read_log(RawTable(frame, "utf-8", "log.csv"), mapping, products)


def test_behaviour_logs_are_read_in_one_clock_and_one_date_order():
    events, _ = read_events([["u1", "A1", "2011-01-02T10:00:00+01:00", "1"], ["u2", "A2", "2011-01-02T10:00:00-05:00", "2"],
                             ["u3", "A3", "2011-01-03 10:00", "1"]])  # offsets that differ within one log
    assert events["timestamp"].dt.hour.tolist() == [9, 15, 10]
    events, _ = read_events([["u1", "A1", "13/01/2011", "1"], ["u2", "A2", "01/02/2011", "1"]])  # 13/01 proves day first
    assert events["timestamp"].dt.strftime("%Y-%m-%d").tolist() == ["2011-01-13", "2011-02-01"]
    with pytest.raises(BadInputError, match="both day first .* and month first"):
        read_events([["u1", "A1", "31/01/2011", "1"], ["u2", "A2", "01/31/2011", "1"]])


def test_behaviour_logs_without_purchases_dates_to_come_and_addresses_as_ids():
    with pytest.raises(BadInputError, match="holds no purchase or view"):
        read_events([["u1", "A1", "2011-01-02", "-1"], ["u2", "A2", "2011-01-02", "-2"]])  # returns only
    events, report = read_events([["ann@shop.example", "A1", "2011-01-02", "1"], ["u2", "A2", "2099-01-02", "1"],
                                  ["u2", "A2", "2011-01-02", "1"]])
    assert report.future_timestamps == 1 and len(events) == 2 and "dated after today" in " ".join(report.messages())
    assert not events["user"].str.contains("@").any() and events["user"][0].startswith("user-") and report.email_users == 1


def test_gold_pairs_naming_unknown_ids_are_counted_and_said_not_scored_as_hits():
    import numpy as np

    from prodsim.matching import MatchScores, retrieval_metrics

    total = np.array([[0.9, 0.1], [0.2, 0.8]])
    scores = MatchScores(total, {}, np.array(["L1", "L2"]), np.array(["R1", "R2"]), np.zeros((2, 2)), np.zeros((2, 2)))
    gold = pd.DataFrame({"left": ["L1", "L2", "L9", "L2"], "right": ["R1", "R2", "R1", "R9"]})
    figures = retrieval_metrics(scores, gold)
    assert figures["queries"] == 2 and figures["recall_at_1"] == 1.0 and figures["gold_pairs_unknown"] == 2
    assert "2 of 4 gold pairs name ids that are not in the tables" in figures["warning"]
    with pytest.raises(BadInputError, match="None of the gold pairs names"):
        retrieval_metrics(scores, pd.DataFrame({"left": ["L9"], "right": ["R1"]}))
