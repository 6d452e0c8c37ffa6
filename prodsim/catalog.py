"""Reading catalog files, guessing the column mapping, and validating rows.

A catalog goes through three steps: :func:`read_table` turns a file in any supported
format and encoding into a table of strings, :func:`guess_mapping` proposes which column
holds the id, title and so on, and :func:`build_products` applies the (possibly corrected)
mapping and returns the product table plus a quality report. Nothing here writes to disk.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from prodsim.errors import BadInputError
from prodsim.limits import human_size, max_upload_bytes

FIELDS = ("id", "title", "description", "brand", "category", "price", "seller", "image")
ROW_NUMBER_ID = "(row number)"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
TABLE_SUFFIXES = TEXT_SUFFIXES | {".xlsx", ".xlsm", ".parquet", ".json", ".jsonl", ".ndjson"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")

# Column names people use for each field, most specific first; matched after lower-casing
# and dropping non-letters, so "Product Name", "product_name" and "ProductName" all match.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "productid", "uniqid", "sku", "itemid", "stockcode", "offerid", "asin", "code"),
    "title": ("title", "productname", "producttitle", "name", "itemname", "texta", "text", "product"),
    "description": ("description", "desc", "productdescription", "details", "longdescription"),
    "brand": ("brand", "manufacturer", "maker", "vendor", "brandname"),
    "category": ("category", "categorylabel", "categoryl1", "label", "productcategory", "department", "categoryname"),
    "price": ("price", "discountedprice", "saleprice", "retailprice", "unitprice", "listprice", "cost"),
    "seller": ("seller", "sellerid", "merchant", "merchantid", "shop", "store", "retailer", "supplier"),
    "image": ("image", "imagefile", "imagename", "filename", "photo", "picture", "img", "imagepath"),
}


@dataclass
class RawTable:
    """A catalog file read as text cells, before any mapping.

    Attributes:
        frame: every cell as a string ("" for empty), columns as in the file.
        encoding: the text encoding detected, or the binary format's name.
        source_name: the file name the user gave.
    """

    frame: pd.DataFrame
    encoding: str
    source_name: str


@dataclass
class QualityReport:
    """What an ingest found; shown after upload and printed by the CLI."""

    rows_read: int = 0
    rows_kept: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"row": n, "reason": "..."}; n is 1-based, header excluded
    empty_titles: int = 0
    duplicate_ids: list[str] = field(default_factory=list)
    unparsed_prices: int = 0
    images_matched: int = 0
    images_missing: int = 0  # products with no usable image
    images_unmatched: list[str] = field(default_factory=list)  # files that match no product
    images_corrupt: list[dict] = field(default_factory=list)  # {"file": ..., "reason": ...}
    files_skipped: list[str] = field(default_factory=list)  # not images at all
    images_dropped: int = 0  # photos of the previous upload whose id now names another product
    encoding: str = ""

    def to_dict(self) -> dict:
        """Returns the report as plain JSON-ready data."""
        return asdict(self)

    def summary_lines(self) -> list[str]:
        """Returns the report as short sentences for people."""
        lines = [f"{self.rows_kept:,} of {self.rows_read:,} rows became products."]
        if self.rejected:
            rows = ", ".join(str(r["row"]) for r in self.rejected[:10])
            more = "" if len(self.rejected) <= 10 else f" and {len(self.rejected) - 10:,} more"
            lines.append(f"{len(self.rejected):,} rows were skipped because they have no title or description (rows {rows}{more}).")
        if self.empty_titles:
            lines.append(f"{self.empty_titles:,} products have no title; their description is used instead.")
        if self.unparsed_prices:
            lines.append(f"{self.unparsed_prices:,} prices could not be read as numbers and were left empty.")
        if self.images_matched or self.images_unmatched or self.images_corrupt:
            lines.append(f"{self.images_matched:,} products have a photo; {self.images_missing:,} have none.")
        if self.images_unmatched:
            lines.append(f"{len(self.images_unmatched):,} image files match no product (e.g. {self.images_unmatched[0]}).")
        if self.images_corrupt:
            first = self.images_corrupt[0]
            lines.append(f"{len(self.images_corrupt):,} image files could not be used (e.g. {first['file']}: {first['reason']}).")
        if self.images_dropped:
            lines.append(f"{self.images_dropped:,} photos of the previous catalog were not kept: their product id now names "
                         "another product. Upload its photos again.")
        if self.files_skipped:
            lines.append(f"{len(self.files_skipped):,} files in the archive are not images and were ignored (e.g. {self.files_skipped[0]}).")
        return lines


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Returns (text, encoding) for a text table, detecting UTF-8/BOM, UTF-16 (Excel's "Unicode text"), GB18030, Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise BadInputError(f"{name} starts as UTF-16 text but breaks off at byte {err.start:,}. Export it again.") from None
    if b"\x00" in data[:4096]:
        raise BadInputError(
            f"{name} does not look like a text table (it contains binary data). "
            "Upload a CSV, TSV, Excel, Parquet or JSON file.")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "cp1252", "latin_1"]).best()
    if best is not None and best.encoding in {"gb18030", "cp1252", "latin_1"}:
        return str(best), best.encoding
    raise BadInputError(
        f"{name} is not readable text in UTF-8, GB18030 or Latin-1. "
        "Save it as UTF-8 CSV (or as Excel) and upload it again.")


def _parse_delimited(text: str, name: str, suffix: str) -> pd.DataFrame:
    text = text.replace("\x00", "")  # NUL bytes deep in a file (a broken export) carry nothing
    declared = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line names the separator
    if declared:
        text = text[declared.end():]
    sample = text[:65536]
    if declared:
        delimiter = declared.group(1)
    elif suffix == ".tsv" or suffix == ".tab":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    csv.field_size_limit(max(csv.field_size_limit(), max_upload_bytes()))  # a long description is no reason to refuse
    rows = _rows(text, delimiter, name)
    if not rows:
        raise BadInputError(f"{name} is empty. Upload a file with a header line and one product per row.")
    header, body = rows[0], rows[1:]
    if not body:
        raise BadInputError(f"{name} has a header line but no product rows. Add products below the header and upload it again.")
    ragged = [(i + 1, len(r)) for i, r in enumerate(body) if len(r) != len(header)]
    if ragged:
        where = ", ".join(f"row {n} has {k}" for n, k in ragged[:5])
        raise BadInputError(
            f"{name}: {len(ragged):,} rows do not have the {len(header)} fields of the header ({where}). "
            "This usually means an unquoted separator inside a value; fix those rows or export the file again with quoting.")
    return pd.DataFrame(body, columns=_unique_names(header))


def _rows(text: str, delimiter: str, name: str) -> list[list[str]]:
    """The non-empty rows; strict first, so that a quote left open (which would swallow every row after it
    into one cell) is refused, and leniently when strict reading trips over a stray quote inside a value."""
    def read(strict: bool) -> list[list[str]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
        return [row for row in reader if any(c.strip() for c in row)]
    try:
        return read(strict=True)
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            line = text.count("\n", 0, _last_open_quote(text)) + 1
            raise BadInputError(f"{name}: a quote opened on line {line:,} is never closed, so every row after it would "
                                "become one value. Close that quote (or export the file again with quoting).") from None
    try:
        return read(strict=False)
    except csv.Error as err:
        raise BadInputError(f"{name} cannot be read as a table ({err}). Export it again as CSV.") from None


def _last_open_quote(text: str) -> int:
    """Where the quote still open at the end of the text was opened (doubled quotes inside a value toggle twice)."""
    inside, opened = False, 0
    for quote in re.finditer('"', text):
        if not inside:
            opened = quote.start()
        inside = not inside
    return opened


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column {i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _parse_json(text: str, name: str, lines: bool) -> pd.DataFrame:
    """Records of a JSON Lines file, or of one document (a list, or an object holding a list of products, pretty-printed
    or not); a ``.json`` file that is not one document but starts with an object is read as JSON Lines."""
    try:
        if not lines:
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                if not text.lstrip().startswith("{"):
                    raise
                lines = True
        if lines:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = loaded if isinstance(loaded, list) else next(
                (v for v in loaded.values() if isinstance(v, list)), None) if isinstance(loaded, dict) else None
    except json.JSONDecodeError as err:
        raise BadInputError(f"{name} is not valid JSON (line {err.lineno}: {err.msg}). Fix the file or upload it as CSV.") from err
    except RecursionError:
        raise BadInputError(f"{name} nests its JSON too deeply to be a product list. JSON must be a list of objects, "
                            "one per product.") from None
    if not records or not all(isinstance(r, dict) for r in records):
        raise BadInputError(f"{name} holds no list of product records. JSON must be a list of objects, one per product.")
    # Lone surrogates (escapes like "\ud800") cannot be stored as UTF-8 text: each becomes U+FFFD.
    def clean(value):
        return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value
    return pd.DataFrame.from_records([{clean(k): clean(v) for k, v in record.items()} for record in records])


def read_table(source: str | Path | bytes, name: str | None = None) -> RawTable:
    """Reads a catalog file into strings, whatever its format and text encoding.

    Args:
        source: a path, or the uploaded bytes.
        name: the file name (needed with bytes: its suffix picks the format).

    Returns:
        The raw table; every cell a string, empty cells "".

    Raises:
        BadInputError: empty, too large, unreadable or malformed files, with what to do.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise BadInputError(f"{path} does not exist or is not a file.")
        if path.stat().st_size > max_upload_bytes():
            raise _too_large(name, path.stat().st_size)
        data = path.read_bytes()
    else:
        data = source
        name = name or "upload"
    if len(data) > max_upload_bytes():
        raise _too_large(name, len(data))
    if name.lower().endswith(".gz"):
        data, name = _gunzip(data, name), name[:-3]
    if not data.strip():
        raise BadInputError(f"{name} is empty. Upload a file with a header line and one product per row.")
    suffix = Path(name).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise BadInputError(f"{name}: files of type '{suffix or 'none'}' are not supported. Use CSV, TSV, XLSX, Parquet, JSON or JSON Lines.")
    if suffix in {".xlsx", ".xlsm", ".parquet"}:
        frame, encoding = _read_binary_table(data, name, suffix)
    else:
        text, encoding = _decode(data, name)
        if suffix in {".json", ".jsonl", ".ndjson"}:
            frame = _parse_json(text, name, lines=suffix != ".json")
        else:
            frame = _parse_delimited(text, name, suffix)
    if frame.empty:
        raise BadInputError(f"{name} has a header but no product rows. Add products and upload it again.")
    frame = frame.astype(object).where(frame.notna(), "").map(_cell_text)
    frame.columns = _unique_names([str(c) for c in frame.columns])
    return RawTable(frame=frame.reset_index(drop=True), encoding=encoding, source_name=name)


def _gunzip(data: bytes, name: str) -> bytes:
    """The contents of a gzip-compressed table (``offers.csv.gz``), within the upload cap."""
    import gzip
    import zlib

    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            contents = stream.read(max_upload_bytes() + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise BadInputError(f"{name} is not a readable gzip file ({error}).") from None
    if len(contents) > max_upload_bytes():
        raise _too_large(name[:-3] + " (unpacked)", len(contents))
    return contents


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _too_large(name: str, size: int) -> BadInputError:
    return BadInputError(
        f"{name} is {human_size(size)}, over the {human_size(max_upload_bytes())} upload limit. "
        "Split the catalog, or raise server.maxUploadSize in .streamlit/config.toml.")


def _read_binary_table(data: bytes, name: str, suffix: str) -> tuple[pd.DataFrame, str]:
    try:
        if suffix == ".parquet":
            return pd.read_parquet(io.BytesIO(data)), "parquet"
        # "NA", "null" and "None" are text (they can be real ids or brands); only empty cells are empty
        return pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl", keep_default_na=False, na_values=[""]), "xlsx"
    except Exception as err:  # pandas raises many types for corrupt files; all mean "not this format"
        raise BadInputError(
            f"{name} could not be read as {suffix.lstrip('.').upper()} ({type(err).__name__}). "
            "Check that the file is not damaged, or export it as CSV.") from err


def _normalise(column: str) -> str:
    return re.sub(r"[^a-z0-9]", "", column.lower())


def guess_mapping(frame: pd.DataFrame) -> dict[str, str | None]:
    """Guesses which column holds each product field.

    Names decide first (see ``SYNONYMS``); content breaks ties and fills gaps: the id
    must be unique and non-empty, the title is the most varied text column, an image
    column holds file names.

    Returns:
        field -> column name, or None when nothing fits (the id then falls back to row numbers).
    """
    columns = list(frame.columns)
    normalised = {c: _normalise(c) for c in columns}
    mapping: dict[str, str | None] = dict.fromkeys(FIELDS)
    taken: set[str] = set()
    for name in ("image", "id", "title", "description", "brand", "category", "price", "seller"):
        for synonym in SYNONYMS[name]:
            hit = next((c for c in columns if normalised[c] == synonym and c not in taken), None)
            exact = hit is not None
            if hit is None:
                hit = next((c for c in columns if synonym in normalised[c] and c not in taken and len(synonym) > 3), None)
            # A column literally called "id" is the id even with repeats: they must be reported, not hidden.
            if hit is not None and (_fits(frame[hit], name) or (exact and name == "id" and (frame[hit] != "").any())):
                mapping[name] = hit
                taken.add(hit)
                break
    if mapping["title"] is None and mapping["description"] is not None:
        # Catalogs with only a "description" column usually keep the product name there.
        mapping["title"], mapping["description"] = mapping["description"], None
    if mapping["title"] is None:
        text_columns = [c for c in columns if c not in taken and _fits(frame[c], "title")]
        if text_columns:
            mapping["title"] = max(text_columns, key=lambda c: frame[c].nunique())
    return mapping


def _fits(values: pd.Series, name: str) -> bool:
    filled = values[values != ""]
    if filled.empty:
        return False
    if name == "id":
        return filled.is_unique
    if name == "image":
        return filled.str.lower().str.endswith(IMAGE_SUFFIXES).mean() > 0.5
    if name == "price":
        return parse_price(filled.head(200)).notna().mean() > 0.5
    if name == "title":
        return filled.str.count(r"[^\W\d_]").ge(3).mean() > 0.8
    if name == "category":
        return not filled.str.fullmatch(r"[\d\s]+").all()
    return True


def label_columns(products: pd.DataFrame) -> list[str]:
    """Product columns that label groups of products (category, seller, colour…): 2 to 500 distinct values, not text or ids."""
    return [c for c in products.columns if c not in {"id", "title", "description", "price", "image_file", "image_sha1", "row"}
            and 1 < products[c].nunique() <= 500]


PRICE_NUMBER = re.compile(r"-?\d(?:[\d.,'\u00a0\u202f ]*\d)?")
SCIENTIFIC = re.compile(r"\+?\d+(?:\.\d+)?[eE][+-]?\d+")


def parse_price(values: pd.Series) -> pd.Series:
    """Parses prices written as "₹1,299", "Rs. 1,299", "$12.99", "12,99 €", "1.299,00", "1 299,00" or "1e3" into
    floats. NaN (counted as unread in the quality report) where the text is not one price: two numbers ("2 for $5",
    a range "40-60"), a negative number, or no number at all."""
    def one(text: str) -> float:
        text = str(text).strip()
        if SCIENTIFIC.fullmatch(text):
            return float(text)
        numbers = PRICE_NUMBER.findall(text)
        if len(numbers) != 1 or numbers[0].startswith("-"):
            return float("nan")
        cleaned = re.sub(r"[\s'\u00a0\u202f]", "", numbers[0])
        if "," in cleaned and "." in cleaned:
            decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
            thousands = "." if decimal == "," else ","
            cleaned = cleaned.replace(thousands, "").replace(decimal, ".")
        elif "," in cleaned:
            head, _, tail = cleaned.rpartition(",")
            cleaned = cleaned.replace(",", "") if len(tail) == 3 else f"{head.replace(',', '')}.{tail}"
        elif cleaned.count(".") > 1:  # "1.299.000": dots that group thousands
            cleaned = cleaned.replace(".", "")
        try:
            return float(cleaned)
        except ValueError:
            return float("nan")
    return values.map(one).astype(float)


def build_products(raw: RawTable, mapping: dict[str, str | None]) -> tuple[pd.DataFrame, QualityReport]:
    """Applies a column mapping and validates the rows.

    Args:
        raw: the table from :func:`read_table`.
        mapping: field -> column; ``id`` may be None or ``ROW_NUMBER_ID`` to number rows.

    Returns:
        The product table (columns ``id, title, description, brand, category, seller, price,
        image_file, row`` then the unmapped columns as they were named) and the report.

    Raises:
        BadInputError: no usable title column, unknown columns, empty or duplicate ids.
    """
    frame, name = raw.frame, raw.source_name
    unknown = [c for c in mapping.values() if c and c != ROW_NUMBER_ID and c not in frame.columns]
    if unknown:
        raise BadInputError(f"{name} has no column named {', '.join(repr(c) for c in unknown)}. Columns are: {', '.join(frame.columns)}.")
    title_col = mapping.get("title")
    if not title_col or (frame[title_col] == "").all():
        raise BadInputError(
            f"{name} has no usable title column"
            + (f" ('{title_col}' is empty in every row)" if title_col else "")
            + f". Map the column that names each product as the title (columns: {', '.join(frame.columns)}).")
    report = QualityReport(rows_read=len(frame), encoding=raw.encoding)
    products = pd.DataFrame({"row": range(1, len(frame) + 1)})
    id_col = mapping.get("id")
    if id_col and id_col != ROW_NUMBER_ID:
        ids = frame[id_col]
        if (ids == "").all():
            raise BadInputError(f"{name}: the id column '{id_col}' is empty in every row. Map another id column, or choose {ROW_NUMBER_ID} to number the products.")
        empty = [i + 1 for i in ids.index[ids == ""]]
        if empty:
            raise BadInputError(f"{name}: {len(empty):,} rows have no id (rows {', '.join(map(str, empty[:10]))}). Fill them in, or choose {ROW_NUMBER_ID} as the id.")
        duplicated = ids[ids.duplicated(keep=False)]
        if not duplicated.empty:
            examples = "; ".join(f"'{v}' in rows {', '.join(str(i + 1) for i in duplicated.index[duplicated == v][:4])}"
                                 for v in duplicated.unique()[:3])
            raise BadInputError(
                f"{name}: {duplicated.nunique():,} ids appear more than once ({examples}). "
                f"Each product needs its own id: remove the repeated rows, map another id column, or choose {ROW_NUMBER_ID}.")
        products["id"] = ids.values
    else:
        products["id"] = [str(i) for i in range(1, len(frame) + 1)]
    for fieldname in ("title", "description", "brand", "category", "seller"):
        column = mapping.get(fieldname)
        products[fieldname] = frame[column].values if column else ""
    price_col = mapping.get("price")
    products["price"] = parse_price(frame[price_col]).values if price_col else float("nan")
    if price_col:
        report.unparsed_prices = int(((frame[price_col] != "") & products["price"].isna()).sum())
    image_col = mapping.get("image")
    products["image_file"] = frame[image_col].values if image_col else ""
    used = {c for c in mapping.values() if c}
    for column in frame.columns:
        if column not in used:
            stored = column if column not in products.columns else f"{column} (original)"
            products[stored] = frame[column].values
    no_text = (products["title"] == "") & (products["description"] == "")
    report.rejected = [{"row": int(r), "reason": "no title and no description"} for r in products.loc[no_text, "row"]]
    products = products[~no_text].reset_index(drop=True)
    report.empty_titles = int((products["title"] == "").sum())
    report.rows_kept = len(products)
    if products.empty:
        raise BadInputError(f"{name}: no row has a title or a description, so there are no products to load.")
    return products, report
