"""Reading catalogs in every supported format and encoding, and guessing the column mapping."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import DATASETS, REPO
from prodsim.catalog import build_products, guess_mapping, parse_price, read_table
from prodsim.ingest import ingest


@pytest.fixture(scope="module")
def abt_slice() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "abt-buy" / "tableA.csv", dtype=str, keep_default_na=False).head(60)


@pytest.mark.datasets
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet", ".json", ".jsonl"])
def test_every_format_reads_the_same_rows(abt_slice, tmp_path, suffix):
    path = tmp_path / f"abt{suffix}"
    writers = {
        ".csv": lambda: abt_slice.to_csv(path, index=False),
        ".tsv": lambda: abt_slice.to_csv(path, index=False, sep="\t"),
        ".xlsx": lambda: abt_slice.to_excel(path, index=False),
        ".parquet": lambda: abt_slice.to_parquet(path, index=False),
        ".json": lambda: abt_slice.to_json(path, orient="records"),
        ".jsonl": lambda: abt_slice.to_json(path, orient="records", lines=True),
    }
    writers[suffix]()
    raw = read_table(path)
    assert list(raw.frame.columns) == list(abt_slice.columns)
    assert raw.frame["name"].tolist() == abt_slice["name"].tolist()
    products, report = build_products(raw, guess_mapping(raw.frame))
    assert report.rows_kept == 60
    assert products["id"].tolist() == abt_slice["id"].tolist()


@pytest.mark.datasets
def test_gb18030_chinese_titles_are_detected(tmp_path):
    titles = pd.read_csv(DATASETS / "zh-titles-30cat" / "titles.tsv", sep="\t", dtype=str).head(300)
    path = tmp_path / "titles.tsv"
    path.write_bytes(titles.to_csv(sep="\t", index=False).encode("gb18030"))
    raw = read_table(path)
    assert raw.encoding == "gb18030"
    assert raw.frame["text_a"].tolist() == titles["text_a"].tolist()
    mapping = guess_mapping(raw.frame)
    assert (mapping["title"], mapping["category"]) == ("text_a", "label")


def test_utf8_bom_and_latin1_are_detected(tmp_path):
    rows = "id,title,brand\n1,Crème brûlée torch,Señor Café\n2,Déjà vu espresso cup,Müller\n3,Façade lamp,Ørsted\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode("utf-8"))
    (tmp_path / "latin.csv").write_bytes(rows.encode("cp1252"))
    bom, latin = read_table(tmp_path / "bom.csv"), read_table(tmp_path / "latin.csv")
    assert bom.encoding == "utf-8-sig" and list(bom.frame.columns) == ["id", "title", "brand"]
    assert latin.encoding in {"cp1252", "latin_1"}
    assert latin.frame["title"].tolist() == bom.frame["title"].tolist() == ["Crème brûlée torch", "Déjà vu espresso cup", "Façade lamp"]


@pytest.mark.datasets
@pytest.mark.parametrize(("relative", "expected"), [
    ("flipkart-1050/products.csv", {"id": "uniq_id", "title": "product_name", "brand": "brand", "category": "category_l1", "image": "image"}),
    ("abt-buy/tableA.csv", {"id": "id", "title": "name", "description": "description", "price": "price"}),
    ("amazon-google/tableA.csv", {"id": "id", "title": "title", "brand": "manufacturer", "price": "price"}),
    ("pricerunner/offers.csv", {"id": "product_id", "title": "product_title", "category": "category_label"}),
    ("online-retail/products.csv", {"id": "StockCode", "title": "Description"}),
])
def test_mapping_guesses_on_real_catalogs(relative, expected):
    raw = read_table(DATASETS / relative)
    mapping = guess_mapping(raw.frame)
    assert {k: mapping[k] for k in expected} == expected


@pytest.mark.datasets
def test_unmapped_columns_are_kept_and_prices_parsed():
    raw = read_table(DATASETS / "flipkart-1050" / "products.csv")
    products, report = build_products(raw, guess_mapping(raw.frame))
    assert {"category_l2", "category_l3", "discounted_price", "has_image"} <= set(products.columns)
    assert report.unparsed_prices == 0
    assert products["price"].notna().sum() == (raw.frame["retail_price"] != "").sum() > 1000


def test_parse_price_handles_currency_formats():
    parsed = parse_price(pd.Series(["₹1,299", "$12.99", "12,99 €", "1.299,00", "", "call us"]))
    assert parsed.iloc[:4].tolist() == [1299.0, 12.99, 12.99, 1299.0]
    assert parsed.iloc[4:].isna().all()


@pytest.mark.datasets
def test_cli_flags_override_the_guessed_mapping(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "prodsim", "ingest", str(DATASETS / "abt-buy" / "tableB.csv"),
         "--workspace", str(tmp_path / "buy"), "--title-col", "description", "--description-col", "name"],
        capture_output=True, text=True, cwd=REPO, check=True)
    result = json.loads(out.stdout)
    assert result["mapping"]["title"] == "description" and result["mapping"]["description"] == "name"
    assert result["rows"] + result["rejected"] == 1092 and result["rejected"] == 0


@pytest.mark.datasets
def test_cli_reports_an_unknown_column_as_json_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "prodsim", "ingest", str(DATASETS / "abt-buy" / "tableB.csv"),
         "--workspace", str(tmp_path / "buy"), "--brand-col", "manufacturer"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert "no column named 'manufacturer'" in json.loads(out.stdout)["error"]
    assert not (tmp_path / "buy").exists()


def test_rows_without_title_or_description_are_rejected_and_reported(root, tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("id,title,description\n1,Kettle,\n2,,\n3,,Steel teapot 1 l\n4,Mug,Blue\n")
    result = ingest(path, workspace_dir=root / "gaps")
    assert result.report.rejected == [{"row": 2, "reason": "no title and no description"}]
    assert result.report.empty_titles == 1
    assert result.workspace.products()["id"].tolist() == ["1", "3", "4"]
