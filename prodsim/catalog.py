"""Reading catalog files, guessing the column mapping, and validating rows.

A catalog goes through three steps: :func:`read_table` turns a file in any supported
format and encoding into a table of strings, :func:`guess_mapping` proposes which column
holds the id, title and so on, and :func:`build_products` applies the (possibly corrected)
mapping and returns the product table plus a quality report. Nothing here writes to disk.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

import pandas as pd

from prodsim.errors import BadInputError
from prodsim.readers import RawTable, read_table  # noqa: F401 (read_table is part of the catalog API)

FIELDS = ("id", "title", "description", "brand", "category", "price", "seller", "image")
ROW_NUMBER_ID = "(row number)"
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
    ids_alike: list[list[str]] = field(default_factory=list)  # ids told apart only by case or accent form, e.g. ["ab1", "AB1"]
    identifiers: dict = field(default_factory=dict)  # prodsim.identifiers.IdentifierReport as data
    reading_notes: list[str] = field(default_factory=list)  # what the reader adjusted (skipped title lines, a sheet chosen)

    def to_dict(self) -> dict:
        """Returns the report as plain JSON-ready data."""
        return asdict(self)

    def summary_lines(self) -> list[str]:
        """Returns the report as short sentences for people."""
        lines = [f"{self.rows_kept:,} of {self.rows_read:,} rows became products.", *self.reading_notes]
        if self.rejected:
            rows = ", ".join(str(r["row"]) for r in self.rejected[:10])
            more = "" if len(self.rejected) <= 10 else f" and {len(self.rejected) - 10:,} more"
            lines.append(f"{len(self.rejected):,} rows were skipped because they have no title or description (rows {rows}{more}).")
        if self.empty_titles:
            lines.append(f"{self.empty_titles:,} products have no title; their description is used instead.")
        if self.ids_alike:
            first = " and ".join(f"'{i}'" for i in self.ids_alike[0])
            lines.append(f"{len(self.ids_alike):,} sets of ids differ only by case or accent form (e.g. {first}); "
                         "they stay different products, and photos are matched to them by their exact name.")
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
        if self.identifiers:
            from prodsim.identifiers import IdentifierReport

            lines.extend(IdentifierReport(**self.identifiers).summary_lines())
        if self.files_skipped:
            lines.append(f"{len(self.files_skipped):,} files in the archive are not images and were ignored (e.g. {self.files_skipped[0]}).")
        return lines


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


def _ids_alike(ids: pd.Series) -> list[list[str]]:
    """Groups of distinct ids that become one after case folding and Unicode normalisation."""
    folded = ids.map(lambda i: unicodedata.normalize("NFC", i).casefold())
    clashing = ids[folded.duplicated(keep=False)]
    return [sorted(group) for group in clashing.groupby(folded[clashing.index]).agg(list)][:100]


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
    report = QualityReport(rows_read=len(frame), encoding=raw.encoding, reading_notes=list(raw.notes))
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
        report.ids_alike = _ids_alike(ids)
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
    kept = [c for c in frame.columns if c not in used]
    if kept:  # the columns no field took, joined in one step (a file can have thousands)
        extra = frame[kept].set_axis([c if c not in products.columns else f"{c} (original)" for c in kept], axis=1)
        products = pd.concat([products, extra.reset_index(drop=True)], axis=1)
    no_text = (products["title"] == "") & (products["description"] == "")
    report.rejected = [{"row": int(r), "reason": "no title and no description"} for r in products.loc[no_text, "row"]]
    products = products[~no_text].reset_index(drop=True)
    report.empty_titles = int((products["title"] == "").sum())
    report.rows_kept = len(products)
    if products.empty:
        raise BadInputError(f"{name}: no row has a title or a description, so there are no products to load.")
    return products, report
