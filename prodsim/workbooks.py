"""Excel workbooks read as the cells people see: the sheet that holds the table, ids with the leading zeros their
number format shows, empty rows skipped as they stream by, and formulas that carry no saved result refused."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field

from prodsim.errors import BadInputError

PROBE_ROWS = 50  # rows of each sheet that decide which one holds the table
ZERO_PADDED = re.compile(r'^"?(0+)"?$')  # number formats such as 00000 that show ids with leading zeros


@dataclass
class Workbook:
    """The rows of one sheet as text, and what was found on the way."""

    rows: list[list[str]]
    sheets: list[str]
    sheet: str
    notes: list[str] = field(default_factory=list)


def read_workbook(data: bytes, name: str, sheet: str | None = None) -> Workbook:
    """Reads one sheet's non-empty rows as text.

    Args:
        data: the .xlsx/.xlsm bytes.
        name: the file name, for messages.
        sheet: the sheet to read; None picks the sheet with the most filled cells in its first rows, so a
            "read me" sheet in front of the products is passed over (and said).

    Raises:
        BadInputError: not a workbook, an unknown sheet, or formulas without a saved result.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for damaged files; all mean "not a workbook"
        raise BadInputError(f"{name} could not be read as XLSX ({type(err).__name__}). "
                            "Check that the file is not damaged, or export it as CSV.") from err
    names = list(book.sheetnames)
    notes = []
    if sheet is not None and sheet not in names:
        raise BadInputError(f"{name} has no sheet named '{sheet}'. Its sheets are: {', '.join(names)}.")
    if sheet is None:
        sheet = max(names, key=lambda n: (_filled_cells(book[n]), -names.index(n)))
        if sheet != names[0]:
            notes.append(f"{name}: the products were read from sheet '{sheet}', not the first sheet '{names[0]}' "
                         "(choose another sheet if that is wrong).")
    worksheet = book[sheet]
    with worksheet._get_source() as source:  # the sheet's XML part, however the workbook names it
        has_formulas, last_row = _scan(source)
    rows, row_numbers = _text_rows(worksheet, last_row)
    book.close()
    if has_formulas:
        _refuse_unsaved_formulas(data, name, sheet, rows, row_numbers)
    return Workbook(rows, names, sheet, notes)


def _filled_cells(worksheet) -> int:
    worksheet.reset_dimensions()
    return sum(value not in (None, "") for row in worksheet.iter_rows(max_row=PROBE_ROWS, values_only=True) for value in row)


def _text_rows(worksheet, last_row: int | None) -> tuple[list[list[str]], list[int]]:
    """The sheet's non-empty rows as text, and each one's row number in the sheet.

    The dimensions a file declares are ignored (``reset_dimensions``), and reading stops at the last row holding a
    value: a sheet formatted down to row 1,048,576 would otherwise be padded and parsed cell by cell."""
    worksheet.reset_dimensions()
    rows, numbers, width = [], [], 0
    for cells in worksheet.iter_rows(max_row=last_row):
        texts = {cell.column: _cell_text(cell) for cell in cells if getattr(cell, "column", None)}
        texts = {column: text for column, text in texts.items() if text}
        if texts:
            numbers.append(next(cell.row for cell in cells if getattr(cell, "row", None)))
            width = max(width, max(texts))
            rows.append(texts)
    return [[row.get(column, "") for column in range(1, width + 1)] for row in rows], numbers


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        padded = ZERO_PADDED.match(cell.number_format or "")
        if padded and float(value).is_integer():  # an id such as 00123 stored as the number 123
            return str(int(value)).zfill(len(padded.group(1)))
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


ROW_TAG = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
VALUE_TAGS = (b"<v>", b"<v ", b"<is>")
CHUNK = 1 << 20


def _scan(source) -> tuple[bool, int | None]:
    """Whether the sheet's XML holds formulas, and the last row with a value in it (None when rows carry no
    numbers), found by scanning the bytes in chunks: fast where parsing a million formatted empty rows is not."""
    has_formulas, current_row, last_row, carry = False, 0, 0, b""
    while chunk := source.read(CHUNK):
        buffer = carry + chunk
        has_formulas = has_formulas or b"<f" in buffer
        value_at = max(buffer.rfind(tag) for tag in VALUE_TAGS)
        starts = [(m.start(), int(m.group(1))) for m in ROW_TAG.finditer(buffer)]
        if value_at >= 0:
            last_row = max(last_row, next((row for start, row in reversed(starts) if start < value_at), current_row))
        if starts:
            current_row = starts[-1][1]
        carry = buffer[-64:]  # a tag cut between two chunks is seen whole in the next buffer
    return has_formulas, (last_row or None) if current_row else None


def _refuse_unsaved_formulas(data: bytes, name: str, sheet: str, rows: list[list[str]], row_numbers: list[int]) -> None:
    """Refuses a sheet whose formulas have no saved result (files written by programs that do not calculate):
    read as values they would be empty cells, silently."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    worksheet = book[sheet]
    worksheet.reset_dimensions()
    where = dict(zip(row_numbers, rows))

    def has_value(cell) -> bool:
        row = where.get(cell.row, [])
        return cell.column <= len(row) and row[cell.column - 1] != ""
    unsaved = [cell for cells in worksheet.iter_rows() for cell in cells
               if isinstance(cell.value, str) and cell.value.startswith("=") and not has_value(cell)]
    book.close()
    if unsaved:
        first = unsaved[0]
        raise BadInputError(
            f"{name}, sheet '{sheet}': {len(unsaved):,} cells hold formulas with no saved result (e.g. "
            f"{first.coordinate}: {first.value[:60]}), so their values are unknown. The program that wrote the file did "
            "not calculate them: open it in Excel or LibreOffice, save it, and upload it again.")
