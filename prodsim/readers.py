"""Reading a catalog file of any supported format and text encoding into a table of text cells.

Files come from exports that go wrong in known ways: Excel's "Unicode text" (UTF-16) and ``sep=;``
lines, a title line above the header, rows saved from two programs in two encodings, workbooks
whose first sheet is a read-me, JSON objects holding the product list, Parquet list columns.
Each is read right and said (``RawTable.notes``), or refused with what, where and what to do.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.limits import human_size, max_upload_bytes
from prodsim.workbooks import read_workbook

TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
TABLE_SUFFIXES = TEXT_SUFFIXES | {".xlsx", ".xlsm", ".parquet", ".json", ".jsonl", ".ndjson"}
DELIMITERS = ",;\t|"
SAMPLE_ROWS = 50  # rows that decide the separator and where the header is
MAX_TITLE_LINES = 10  # lines above the header (a report title, an export date) that are skipped
FALLBACK_ENCODINGS = ["gb18030", "cp1252", "latin_1"]


@dataclass
class RawTable:
    """A catalog file read as text cells, before any mapping.

    Attributes:
        frame: every cell as a string ("" for empty), columns as in the file.
        encoding: the text encoding detected, or the binary format's name.
        source_name: the file name the user gave.
        sheets: a workbook's sheet names (empty for other formats); ``sheet`` is the one read.
        notes: what the reader adjusted, for the quality report ("2 title lines above the header were skipped").
    """

    frame: pd.DataFrame
    encoding: str
    source_name: str
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""
    notes: list[str] = field(default_factory=list)


def read_table(source: str | Path | bytes, name: str | None = None, sheet: str | None = None) -> RawTable:
    """Reads a catalog file into strings, whatever its format and text encoding.

    Args:
        source: a path, or the uploaded bytes.
        name: the file name (needed with bytes: its suffix picks the format).
        sheet: a workbook's sheet to read; None picks the sheet that holds the table.

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
    notes: list[str] = []
    actual = _binary_format(data)
    if actual and suffix not in ({".xlsx", ".xlsm"} if actual == ".xlsx" else {".parquet"}):
        notes.append(f"{name} is a{'n Excel workbook' if actual == '.xlsx' else ' Parquet file'} although its name ends in "
                     f"{suffix}; it was read as one.")
        suffix = actual
    sheets, chosen = [], ""
    if suffix in {".xlsx", ".xlsm"}:
        book = read_workbook(data, name, sheet)
        frame, encoding, sheets, chosen = _table_from_rows(book.rows, name, notes), "xlsx", book.sheets, book.sheet
        notes.extend(book.notes)
    elif suffix == ".parquet":
        frame, encoding = _as_text(_read_parquet(data, name)), "parquet"
    else:
        text, encoding = _decode(data, name, notes)
        if suffix in {".json", ".jsonl", ".ndjson"}:
            frame = _as_text(_parse_json(text, name, lines=suffix != ".json"))
        else:
            frame = _parse_delimited(text, name, suffix, notes)
    if frame.empty:
        raise BadInputError(f"{name} has a header but no product rows. Add products and upload it again.")
    return RawTable(frame=frame.reset_index(drop=True), encoding=encoding, source_name=name,
                    sheets=sheets, sheet=chosen, notes=notes)


def _binary_format(data: bytes) -> str | None:
    """The suffix a file's first bytes say it has (a workbook or Parquet saved under a .csv name), else None."""
    if data.startswith(b"PAR1"):
        return ".parquet"
    if data.startswith(b"PK\x03\x04") and b"xl/" in data[:4096]:
        return ".xlsx"
    return None


def _decode(data: bytes, name: str, notes: list[str]) -> tuple[str, str]:
    """Returns (text, encoding) for a text table: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"),
    GB18030, Latin-1, or UTF-8 rows mixed with rows of one other encoding (two programs appended to one file)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as err:
            raise BadInputError(f"{name} starts as UTF-16 text but breaks off at byte {err.start:,}. Export it again.") from None
    if b"\x00" in data[:4096]:
        raise BadInputError(
            f"{name} does not look like a text table (it contains binary data). "
            "Upload a CSV, TSV, Excel, Parquet or JSON file.")
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    broken = [i for i, line in enumerate(lines) if not _is_utf8(line)]
    utf8_text = any(not line.isascii() for i, line in enumerate(lines) if _is_utf8(line))
    if utf8_text:  # some rows are UTF-8 beyond ASCII, others are not: decode row by row
        other = _guess_encoding(b"\n".join(lines[i] for i in broken))
        if other is None:
            raise BadInputError(f"{name}: lines {', '.join(str(i + 1) for i in broken[:5])} are not readable text in UTF-8, "
                                "GB18030 or Latin-1. Save the file as UTF-8 and upload it again.")
        notes.append(f"{len(broken):,} line{'s' if len(broken) > 1 else ''} of {name} {'were' if len(broken) > 1 else 'was'} saved in {other}, the rest in UTF-8 "
                     f"(e.g. line {broken[0] + 1}); each line was read in its own encoding.")
        text = "\n".join(line.decode(other if i in set(broken) else "utf-8") for i, line in enumerate(lines))
        return text, f"utf-8 + {other}"
    other = _guess_encoding(data)
    if other is None:
        raise BadInputError(
            f"{name} is not readable text in UTF-8, GB18030 or Latin-1. "
            "Save it as UTF-8 CSV (or as Excel) and upload it again.")
    return data.decode(other), other


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=FALLBACK_ENCODINGS).best()
    return best.encoding if best is not None and best.encoding in FALLBACK_ENCODINGS else None


def _parse_delimited(text: str, name: str, suffix: str, notes: list[str]) -> pd.DataFrame:
    text = text.replace("\x00", "")  # NUL bytes deep in a file (a broken export) carry nothing
    declared = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line names the separator
    if declared:
        text = text[declared.end():]
    # A long description is no reason to refuse a file; the upload cap bounds a cell anyway.
    csv.field_size_limit(max(csv.field_size_limit(), max_upload_bytes()))
    if declared:
        delimiter = declared.group(1)
    elif suffix in {".tsv", ".tab"}:
        delimiter = "\t"
    else:
        delimiter = _guess_delimiter(text[:65536])
    return _table_from_rows(_rows(text, delimiter, name), name, notes)


def _guess_delimiter(sample: str) -> str:
    """The separator that splits the first rows into the most consistent number of fields, two or more
    (csv.Sniffer's regular expressions take minutes on some quoted samples)."""
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            widths = [len(row) for _, row in zip(range(SAMPLE_ROWS), reader) if any(c.strip() for c in row)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = (count / len(widths), width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _table_from_rows(rows: list[list[str]], name: str, notes: list[str]) -> pd.DataFrame:
    """The header and product rows, skipping title lines above the header; ragged rows are refused."""
    if not rows:
        raise BadInputError(f"{name} is empty. Upload a file with a header line and one product per row.")
    start = _header_row(rows)
    if start:
        notes.append(f"{start} line{'s' if start > 1 else ''} above the header of {name} "
                     f"({'; '.join(repr(' '.join(c for c in r if c.strip())[:60]) for r in rows[:start][:3])}) "
                     f"{'were' if start > 1 else 'was'} skipped.")
    header, body = rows[start], rows[start + 1:]
    if not body:
        raise BadInputError(f"{name} has a header line but no product rows. Add products below the header and upload it again.")
    ragged = [(i + 1, len(r)) for i, r in enumerate(body) if len(r) != len(header)]
    if ragged:
        where = ", ".join(f"row {n} has {k}" for n, k in ragged[:5])
        raise BadInputError(
            f"{name}: {len(ragged):,} rows do not have the {len(header)} fields of the header ({where}). "
            "This usually means an unquoted separator inside a value; fix those rows or export the file again with quoting.")
    return pd.DataFrame([[cell.strip() for cell in row] for row in body], columns=_unique_names(header), dtype=object)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell of a typed table (Parquet, JSON) as text, in one pass whatever the number of columns."""
    text = np.frompyfunc(cell_text, 1, 1)(frame.to_numpy(dtype=object)) if frame.size else frame.to_numpy(dtype=object)
    return pd.DataFrame(text, columns=_unique_names([str(c) for c in frame.columns]), dtype=object)


def _header_row(rows: list[list[str]]) -> int:
    """How many leading rows are titles above the header: rows filling at most half the table's usual width."""
    filled = [sum(bool(c.strip()) for c in row) for row in rows[:SAMPLE_ROWS]]
    width = Counter(filled).most_common(1)[0][0]
    if width < 2:
        return 0
    start = 0
    while start < min(MAX_TITLE_LINES, len(filled) - 1) and filled[start] <= width // 2:
        start += 1
    return start if start < len(filled) - 1 else 0


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
    return pd.DataFrame.from_records([{_clean(k): _clean(v) for k, v in record.items()} for record in records])


def _clean(value):
    """Lone surrogates (escapes like "\\ud800") cannot be stored as UTF-8 text: each becomes U+FFFD."""
    return LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def cell_text(value) -> str:
    """One cell as text: empty for missing values, whole floats without ".0", lists joined by "; ", objects as JSON."""
    if isinstance(value, str):
        return _clean(value).strip()
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "__len__") and not isinstance(value, bytes):  # lists, tuples, NumPy arrays (Parquet lists)
        return "; ".join(part for part in (cell_text(v) for v in value) if part)
    if pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


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


def _too_large(name: str, size: int) -> BadInputError:
    return BadInputError(
        f"{name} is {human_size(size)}, over the {human_size(max_upload_bytes())} upload limit. "
        "Split the catalog, or raise server.maxUploadSize in .streamlit/config.toml.")


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow raises many types for corrupt files; all mean "not this format"
        raise BadInputError(f"{name} could not be read as Parquet ({type(err).__name__}). "
                            "Check that the file is not damaged, or export it as CSV.") from err
