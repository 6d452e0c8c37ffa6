"""Catalog files and photo archives as real exports go wrong: each is read right (and said), or refused with what,
where and what to do, leaving every workspace as it was."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
import sys
import unicodedata
import zipfile

import pandas as pd
import pytest
from PIL import Image

from conftest import REPO, make_zip, tree_digest
from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.errors import BadInputError
from prodsim.ingest import attach_images, ingest


def jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def workbook(sheets: dict[str, list[list]], formats: dict[tuple[str, str], str] | None = None) -> bytes:
    """An .xlsx with the sheets given (rows of values), cell number formats such as {("Products", "A2"): "00000"}."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    for (title, cell), number_format in (formats or {}).items():
        book[title][cell].number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite_part(data: bytes, part: str, change) -> bytes:
    """The same ZIP with one member's bytes passed through ``change`` (to write what openpyxl cannot: cached results)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, change(content) if item.filename == part else content)
    return out.getvalue()


# --- text tables -------------------------------------------------------------------------------------------------
def test_title_lines_above_the_header_are_skipped_and_said():
    raw = read_table(b"Product export;;\n2026-11-30;;\nid;title;price\n1;Kettle;20\n2;Mug;3\n", "export.csv")
    assert list(raw.frame.columns) == ["id", "title", "price"] and raw.frame["title"].tolist() == ["Kettle", "Mug"]
    assert "2 lines above the header of export.csv ('Product export'; '2026-11-30') were skipped" in raw.notes[0]
    products, report = build_products(raw, guess_mapping(raw.frame))
    assert report.reading_notes == raw.notes and raw.notes[0] in report.summary_lines()


def test_a_file_mixing_utf8_and_cp1252_rows_is_read_line_by_line():
    data = "id,title\n1,Café crème\n".encode() + "2,Thé vert\n3,Crêpe pan\n".encode("cp1252") + "4,Bol à thé\n".encode()
    raw = read_table(data, "appended.csv")
    assert raw.frame["title"].tolist() == ["Café crème", "Thé vert", "Crêpe pan", "Bol à thé"]
    assert raw.encoding == "utf-8 + cp1252" and "2 lines of appended.csv were saved in cp1252" in raw.notes[0]


def test_the_separator_is_the_one_that_splits_rows_consistently():
    raw = read_table(b'id;title;price\n1;"Kettle, steel";2,50\n2;"Mug, blue";3,10\n3;Cup;1,00\n', "semicolons.csv")
    assert list(raw.frame.columns) == ["id", "title", "price"] and raw.frame["title"][0] == "Kettle, steel"
    one_column = read_table(b"title\nKettle\nMug\n", "titles.csv")  # a one-column file is a list of titles
    assert one_column.frame["title"].tolist() == ["Kettle", "Mug"]


def test_ten_thousand_columns_are_read_in_one_pass_and_kept(root):
    header = ",".join(f"attribute {i}" for i in range(10_000)) + ",id,title\n"
    rows = "".join(",".join(["x"] * 10_000) + f",P{i},Product {i}\n" for i in range(30))
    result = ingest((header + rows).encode(), workspace_dir=root / "wide", catalog_name="wide.csv")
    stored = result.workspace.products()
    assert result.report.rows_kept == 30 and stored.shape[1] >= 10_000 and stored["attribute 9999"][0] == "x"


def test_binary_tables_under_a_text_name_are_read_as_what_they_are():
    buffer = io.BytesIO()
    pd.DataFrame({"id": ["1", "2"], "title": ["Kettle", "Mug"]}).to_parquet(buffer)
    as_csv = read_table(buffer.getvalue(), "catalog.csv")
    assert as_csv.encoding == "parquet" and as_csv.frame["title"].tolist() == ["Kettle", "Mug"]
    assert "catalog.csv is a Parquet file although its name ends in .csv" in as_csv.notes[0]
    excel = read_table(workbook({"Sheet": [["id", "title"], ["1", "Kettle"]]}), "catalog.csv")
    assert excel.encoding == "xlsx" and excel.frame["title"].tolist() == ["Kettle"]


def test_parquet_list_and_nested_columns_are_joined_as_text():
    buffer = io.BytesIO()
    pd.DataFrame({"id": ["1", "2"], "title": ["Kettle", "Mug"], "tags": [["steel", "1.7 l"], []],
                  "attributes": [{"colour": "red", "watts": 2200}, None]}).to_parquet(buffer)
    frame = read_table(buffer.getvalue(), "catalog.parquet").frame
    assert frame["tags"].tolist() == ["steel; 1.7 l", ""]
    assert json.loads(frame["attributes"][0]) == {"colour": "red", "watts": 2200} and frame["attributes"][1] == ""


def test_ids_that_look_like_missing_values_stay_ids():
    raw = read_table(b"id,title\nNA,Kettle\nnull,Mug\nNone,Cup\nN/A,Jug\n", "ids.csv")
    products, _ = build_products(raw, guess_mapping(raw.frame))
    assert products["id"].tolist() == ["NA", "null", "None", "N/A"]


# --- workbooks ---------------------------------------------------------------------------------------------------
def test_a_read_me_sheet_in_front_is_passed_over_and_another_sheet_can_be_chosen(tmp_path):
    data = workbook({"Read me": [["This workbook lists our products."], ["Prices are in EUR."]],
                     "Products": [["id", "title", "price"], *[[f"P{i}", f"Product {i}", 10 + i] for i in range(6)]],
                     "Retired": [["id", "title"], ["R1", "Old kettle"]]})
    raw = read_table(data, "catalog.xlsx")
    assert raw.sheets == ["Read me", "Products", "Retired"] and raw.sheet == "Products" and len(raw.frame) == 6
    assert "read from sheet 'Products', not the first sheet 'Read me'" in raw.notes[0]
    assert read_table(data, "catalog.xlsx", sheet="Retired").frame["title"].tolist() == ["Old kettle"]
    with pytest.raises(BadInputError, match="has no sheet named 'Prices'. Its sheets are: Read me, Products, Retired"):
        read_table(data, "catalog.xlsx", sheet="Prices")
    (tmp_path / "catalog.xlsx").write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "prodsim", "ingest", str(tmp_path / "catalog.xlsx"), "--sheet", "Retired",
                           "--workspace", str(tmp_path / "ws")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["rows"] == 1


def test_excel_ids_keep_the_leading_zeros_their_format_shows_and_dates_read_as_dates():
    data = workbook({"Products": [["id", "title", "launched"], [123, "Kettle", dt.datetime(2026, 3, 1)], [45, "Mug", None]]},
                    {("Products", "A2"): "00000", ("Products", "A3"): "00000"})
    frame = read_table(data, "ids.xlsx").frame
    assert frame["id"].tolist() == ["00123", "00045"] and frame["launched"].tolist() == ["2026-03-01", ""]


def test_a_million_formatted_empty_rows_are_dropped_without_parsing_them():
    data = workbook({"Products": [["id", "title"], ["1", "Kettle"], ["2", "Mug"]]})
    empty_rows = "".join(f'<row r="{r}"><c r="A{r}" s="0"/><c r="B{r}" s="0"/></row>' for r in range(4, 1_000_001)).encode()
    data = rewrite_part(data, "xl/worksheets/sheet1.xml",
                        lambda xml: re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD1048576"/>',
                                           xml.replace(b"</sheetData>", empty_rows + b"</sheetData>")))
    raw = read_table(data, "formatted.xlsx")
    assert raw.frame["title"].tolist() == ["Kettle", "Mug"]


def test_formulas_are_read_by_their_saved_result_and_refused_without_one():
    data = workbook({"Products": [["id", "title", "price"], ["1", "Kettle", "=10*2"], ["2", "Mug", 3]]})
    with pytest.raises(BadInputError, match=r"1 cells hold formulas with no saved result \(e.g. C2: =10\*2\).*open it in Excel"):
        read_table(data, "computed.xlsx")
    saved = rewrite_part(data, "xl/worksheets/sheet1.xml",
                         lambda xml: re.sub(rb'(<c r="C2"[^>]*>)<f>10\*2</f><v>\s*</v>|(<c r="C2"[^>]*>)<f>10\*2</f>',
                                            lambda m: (m.group(1) or m.group(2)) + b"<f>10*2</f><v>20</v>", xml))
    assert read_table(saved, "computed.xlsx").frame["price"].tolist() == ["20", "3"]


# --- photo archives ----------------------------------------------------------------------------------------------
def patch_entry(data: bytes, name: bytes, *, new_name: bytes | None = None, flags_clear: int = 0, flags_set: int = 0,
                method: int | None = None) -> bytes:
    """Rewrites one entry's header fields in both the local header and the central directory (what no tool here
    writes on purpose: legacy name bytes, the encryption flag, an unknown compression method)."""
    out = bytearray(data)
    for signature, flags_at, method_at, name_length_at, name_at in ((b"PK\x03\x04", 6, 8, 26, 30), (b"PK\x01\x02", 8, 10, 28, 46)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            length = int.from_bytes(out[start + name_length_at:start + name_length_at + 2], "little")
            if bytes(out[start + name_at:start + name_at + length]) == name:
                flags = int.from_bytes(out[start + flags_at:start + flags_at + 2], "little")
                out[start + flags_at:start + flags_at + 2] = ((flags & ~flags_clear) | flags_set).to_bytes(2, "little")
                if method is not None:
                    out[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
                if new_name is not None:
                    assert len(new_name) == len(name)
                    out[start + name_at:start + name_at + length] = new_name
            start += 4
    return bytes(out)


@pytest.fixture
def five_products(root):
    catalog = b"id,title\nK1,Kettle\nK2,Mug\nK3,Cup\nK4,Jug\nK5,Pan\n"
    return ingest(catalog, workspace_dir=root / "five", catalog_name="five.csv").workspace


def test_encrypted_damaged_and_unsupported_entries_are_listed_and_the_rest_used(five_products):
    archive = make_zip({"K1.jpg": jpeg("red"), "K2.jpg": jpeg("green"), "K3.jpg": jpeg("blue"), "K4.jpg": jpeg("white")},
                       compression=zipfile.ZIP_STORED)
    archive = patch_entry(archive, b"K2.jpg", flags_set=0x1)  # password-protected
    archive = patch_entry(archive, b"K3.jpg", method=98)  # PPMd: a method Python cannot read
    inside_k4 = archive.find(b"K4.jpg") + len(b"K4.jpg") + 300  # past the local header, inside the photo's bytes
    archive = archive[:inside_k4] + bytes([archive[inside_k4] ^ 0xFF]) + archive[inside_k4 + 1:]  # a bad CRC
    report = attach_images(five_products, archive, "photos.zip")
    reasons = {entry["file"]: entry["reason"] for entry in report.images_corrupt}
    assert report.images_matched == 1 and set(reasons) == {"K2.jpg", "K3.jpg", "K4.jpg"}
    assert "encrypted" in reasons["K2.jpg"] and "compressed with a method" in reasons["K3.jpg"]
    assert "damaged in the archive" in reasons["K4.jpg"]


def test_photo_names_in_legacy_encodings_and_decomposed_accents_match_their_products(root):
    catalog = "id,title\ncafé,Coffee cup\n茶壶,Teapot\nnoël,Bauble\n".encode()
    workspace = ingest(catalog, workspace_dir=root / "names", catalog_name="names.csv").workspace
    archive = make_zip({"cafeX.jpg": jpeg("red"), "ab12.jpg": jpeg("green"),
                        unicodedata.normalize("NFD", "noël") + ".jpg": jpeg("blue")})
    archive = patch_entry(archive, b"cafeX.jpg", new_name="café.jpg".encode())  # UTF-8 bytes, no UTF-8 flag
    archive = patch_entry(archive, b"ab12.jpg", new_name="茶壶.jpg".encode("gbk"))  # Chinese Windows: GBK, no flag
    report = attach_images(workspace, archive, "photos.zip")
    assert report.images_matched == 3, report.to_dict()


def test_ids_told_apart_only_by_case_keep_their_own_photos_and_are_reported(root):
    from prodsim.images import content_hash

    catalog = b"id,title\nab1,Red kettle\nAB1,Blue kettle\ncd2,Mug\n"
    photos = {"ab1.jpg": jpeg("red"), "AB1.jpg": jpeg("blue"), "CD2.jpg": jpeg("white")}
    result = ingest(catalog, workspace_dir=root / "case", catalog_name="case.csv", images=make_zip(photos), images_name="p.zip")
    products = result.workspace.products().set_index("id")
    assert products.loc["ab1", "image_sha1"] == content_hash(photos["ab1.jpg"])
    assert products.loc["AB1", "image_sha1"] == content_hash(photos["AB1.jpg"])
    assert products.loc["cd2", "image_sha1"] != ""  # case is still ignored where the name fits one product
    assert result.report.ids_alike == [["AB1", "ab1"]] and "differ only by case" in " ".join(result.report.summary_lines())


# --- paths and the error path ------------------------------------------------------------------------------------
def test_the_current_folder_as_workspace_is_used_when_empty_and_refused_when_not(tmp_path):
    (tmp_path / "catalog.csv").write_bytes(b"id,title\n1,Kettle\n2,Mug\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    command = [sys.executable, "-m", "prodsim", "ingest", str(tmp_path / "catalog.csv"), "--workspace", "."]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, cwd=empty, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["rows"] == 2 and (empty / "meta.json").is_file()
    before = tree_digest(tmp_path)
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 2 and "already holds other files" in json.loads(done.stdout)["error"]
    assert tree_digest(tmp_path) == before


def test_an_unexpected_failure_prints_one_json_object_with_a_reference_the_log_has(monkeypatch, capsys, caplog, tmp_path):
    from prodsim import api, cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(api, "ingest", broken)
    (tmp_path / "c.csv").write_bytes(b"id,title\n1,Kettle\n")
    code = cli.main(["ingest", str(tmp_path / "c.csv"), "--workspace", str(tmp_path / "w")])
    out = json.loads(capsys.readouterr().out)
    reference = re.search(r"reference (\w+) in the server log", out["error"]).group(1)
    assert code == 1 and "Traceback" not in out["error"]
    assert any(reference in record.getMessage() and record.exc_info for record in caplog.records)


def test_pair_files_that_are_missing_short_or_in_another_format_are_refused_or_read(tmp_path, monkeypatch):
    from prodsim import api

    for side in ("left", "right"):
        (tmp_path / f"{side}.csv").write_bytes(b"id,title\n1,Kettle\n2,Mug\n")
    (tmp_path / "one-column.csv").write_bytes(b"left\n1\n2\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    tables = (tmp_path / "left.csv", tmp_path / "right.csv")
    for gold, expected in ((tmp_path / "missing.csv", "missing.csv does not exist"),
                           (tmp_path / "one-column.csv", "has 1 column; as the gold file it needs 2: left id, right id"),
                           (tmp_path / "empty.csv", "empty.csv is empty")):
        with pytest.raises(BadInputError, match=expected):
            api.match(*tables, gold=gold)
    (tmp_path / "gold.xlsx").write_bytes(workbook({"Pairs": [["left", "right"], ["1", "1"], ["2", "2"]]}))
    monkeypatch.setattr(api.matching, "load_text_encoder", lambda *args: pytest.fail("stop after reading"))
    with pytest.raises(pytest.fail.Exception, match="stop after reading"):  # the workbook was read as the gold file
        api.match(*tables, gold=tmp_path / "gold.xlsx")
