"""Tables people download (CSV and Excel), safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel
and LibreOffice as a formula; a product title such as ``=HYPERLINK(...)`` in an export would run
when a colleague opens it. As OWASP advises for CSV injection, such text cells get a leading
apostrophe, which spreadsheets show as plain text. Numbers are left as numbers.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from prodsim.errors import BadInputError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_ROW_LIMIT = 100_000  # larger tables are offered as CSV only (Excel files of a million rows take minutes to write)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a formula."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool)
        if risky.any():
            safe[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return safe


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte-order mark, so Excel reads accents right), formula-safe."""
    return spreadsheet_safe(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    """An Excel workbook of the table, formula-safe, every text cell stored as text."""
    buffer = io.BytesIO()
    spreadsheet_safe(frame).to_excel(buffer, index=False)
    return buffer.getvalue()


def output_file(out: str | Path, what: str, example: str) -> Path:
    """``out`` as a file to write ``what`` to, refused before any work when it is a folder or its folder is missing."""
    out = Path(out)
    if out.is_dir():
        raise BadInputError(f"{out} is a folder; give the {what} a file name, e.g. {out / example}.")
    if not out.parent.is_dir():
        raise BadInputError(f"The folder {out.parent} does not exist; create it or write the {what} elsewhere.")
    return out
