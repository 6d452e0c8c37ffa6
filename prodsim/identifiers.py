"""Identifier and attribute columns: the strongest evidence that two listings are (or are not) one product.

A GTIN/EAN/UPC/ISBN, a maker's part number (MPN) or a model number names one product: two listings that share
one are the same product whatever their titles say, and two that carry different ones are not. Attribute columns
(colour, size, capacity…) tell variants of one model apart. Columns get these roles by their names or values
(:func:`guess_roles`), the user can change them, and every value is normalised before it is compared: case,
spaces, dashes and leading zeros do not count, and a GTIN whose check digit fails is reported, never trusted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import sparse

from prodsim.catalog import _normalise

# Column names (lower-cased, letters and digits only) that hold identifiers or attributes.
IDENTIFIER_NAMES = ("gtin", "gtin8", "gtin12", "gtin13", "gtin14", "ean", "ean13", "ean8", "upc", "upca", "isbn", "isbn13",
                    "barcode", "mpn", "modelno", "modelnumber", "model", "partnumber", "partno", "manufacturerpartnumber",
                    "mfrpartnumber", "mfgpartnumber", "itemmodelnumber", "manufacturersku", "makersku", "articlenumber")
ATTRIBUTE_NAMES = ("colour", "color", "size", "capacity", "material", "weight", "volume", "dimensions", "pattern",
                   "flavour", "flavor", "storage", "memory", "length", "width", "height", "gender", "style")
GTIN_LENGTHS = (8, 12, 13, 14)
SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?E\+?\d+$")  # "4.00E+12": Excel showed a long number this way; digits are lost
_SEPARATORS = re.compile(r"[\s\-_./:#]+")
_WRAPPING = re.compile(r"^\W+|\W+$")  # "(C9362WN)" and "dsc-w120," in titles: brackets and punctuation around a code
_VARIANT_SUFFIX = re.compile(r"^(.*\d)[A-Z]{1,2}$")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[A-Z]")
# "16GB", "1080P", "2": a spec or a generation after a model's dash (Netgear's "-100NAS" is a region, no quantity)
_QUANTITY = re.compile(r"^\d+(?:[.,]\d+)?(?:[KMGT]?B|MP|MAH|RPM|[KMG]?HZ|[KM]?W|V|MM|CM|M|IN|P|K|L|ML|G|KG|OZ|LBS?)?$")


@dataclass
class ColumnRoles:
    """Which kept columns are identifiers and which are attributes (names as in the product table)."""

    identifiers: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain data, as stored in a workspace's meta.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> ColumnRoles:
        """Roles from meta.json (an older workspace has none)."""
        data = data or {}
        return cls(list(data.get("identifiers", [])), list(data.get("attributes", [])))


def gtin_check_digit_ok(digits: str) -> bool:
    """Whether a GTIN-8/12/13/14 (EAN, UPC) or ISBN-13 carries the right check digit (GS1's mod-10 rule)."""
    if len(digits) not in GTIN_LENGTHS or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def looks_like_gtins(values: pd.Series) -> bool:
    """Whether most filled values are digit strings of a GTIN length with a correct check digit."""
    filled = values[values != ""].head(500).map(lambda v: _SEPARATORS.sub("", v))
    return not filled.empty and filled.map(gtin_check_digit_ok).mean() > 0.8


def guess_roles(frame: pd.DataFrame, mapping: dict[str, str | None]) -> ColumnRoles:
    """Identifier and attribute columns among those no field took, by name (or GTIN-shaped values); an attribute's
    name may qualify the word ("baseColour", "Screen size")."""
    taken = {c for c in mapping.values() if c}
    roles = ColumnRoles()
    for column in frame.columns:
        if column in taken or not (frame[column] != "").any():
            continue
        name = _normalise(column)
        if name in IDENTIFIER_NAMES or any(name.startswith(n) for n in ("gtin", "ean", "upc", "isbn")) or looks_like_gtins(frame[column]):
            roles.identifiers.append(column)
        elif any(name.endswith(n) for n in ATTRIBUTE_NAMES):  # "baseColour", "screen size", "net weight" too
            roles.attributes.append(column)
    return roles


def identifier_keys(value: str) -> tuple[list[str], str | None]:
    """(keys, problem): the comparable forms of one identifier, or no keys and why it cannot be trusted.

    Digits only: a GTIN length needs its check digit ("G:" key, leading zeros dropped so a UPC-12 equals its
    EAN-13); other lengths compare as numbers. Anything else (MPN, model number) compares in upper case without
    spaces, dashes or dots ("KDL-40 V4100" equals "kdl40v4100"), and also without one or two letters after its last
    digit, the colour or region suffix shops add or leave out ("KDL40V4100B" near "KDL40V4100"), and without an
    option code after "#", "/" or the last "-" ("C9362WN#140", "Q5949A#ABA", "MC544LL/A", "MF110-B1": the maker's
    country, colour or pack option, which titles and other shops leave out).
    Brackets and punctuation around the value do not count ("(C9362WN)" in a title).
    """
    text = _WRAPPING.sub("", unicodedata.normalize("NFKC", str(value)).upper())
    if not text:
        return [], None
    if SCIENTIFIC.match(text):
        return [], "scientific notation (digits lost in Excel)"
    compact = _SEPARATORS.sub("", text)
    if compact.isdigit():
        if len(compact) in GTIN_LENGTHS:
            return (["G:" + compact.lstrip("0")], None) if gtin_check_digit_ok(compact) else ([], "check digit fails")
        return ["N:" + (compact.lstrip("0") or "0")], None
    if len(compact) < 3:
        return [], "too short to identify a product"
    keys = ["C:" + compact]
    if (stem := _VARIANT_SUFFIX.match(compact)) and len(stem.group(1)) >= 4:
        keys.append("C:" + stem.group(1))
    if head := _model_before_option(text):
        keys.extend(key for key in identifier_keys(head)[0] if key not in keys)
    return keys, None


def _model_before_option(text: str) -> str | None:
    """The model code before a maker's option code, which one shop writes and the other leaves out: "C9362WN" of
    "C9362WN#140", "MC544LL" of "MC544LL/A", "SRSA212" of "SRSA212/BLK", "GS724TP" of "GS724TP-100NAS". None where
    the last part is a spec or a generation ("G900V-16GB", "X100-2": another product), or where what comes before it
    is no model code (the "KDL" of "KDL-40EX500")."""
    if "#" in text:
        head = text.split("#")[0]
        return head if _DIGIT.search(head) else None
    head, separator, option = text.rpartition("/") if "/" in text else text.rpartition("-")
    compact = _SEPARATORS.sub("", head)
    if not separator or _QUANTITY.match(option.strip()) or len(compact) < 4:
        return None
    return head if _DIGIT.search(compact) and _LETTER.search(compact) else None


def cell_keys(cell: str) -> tuple[list[str], int, list[tuple[str, str]]]:
    """The keys of every identifier in one cell ("a; b" holds two), how many identifiers gave keys, and the
    (value, problem) of those not trusted."""
    keys, read, problems = [], 0, []
    for part in re.split(r"[;|]", str(cell)):
        found, problem = identifier_keys(part)
        keys.extend(found)
        read += bool(found)
        if problem:
            problems.append((part.strip(), problem))
    return keys, read, problems


@dataclass
class IdentifierReport:
    """What the identifier and attribute columns hold, for the quality report."""

    identifier_columns: list[str] = field(default_factory=list)
    attribute_columns: list[str] = field(default_factory=list)
    identifiers_read: int = 0
    identifiers_invalid: int = 0
    invalid_examples: list[dict] = field(default_factory=list)  # {"row", "column", "value", "problem"}
    empty_columns: list[str] = field(default_factory=list)  # identifier or attribute columns that carry nothing

    def to_dict(self) -> dict:
        """Plain data."""
        return asdict(self)

    def summary_lines(self) -> list[str]:
        """The report as short sentences."""
        lines = []
        if self.identifier_columns:
            lines.append(f"Identifiers from {', '.join(self.identifier_columns)}: {self.identifiers_read:,} read.")
        if self.identifiers_invalid:
            first = self.invalid_examples[0]
            lines.append(f"{self.identifiers_invalid:,} identifiers are not used ({first['problem']}, e.g. "
                         f"'{first['value']}' in row {first['row']}, column {first['column']}); fix them in the file.")
        if self.empty_columns:
            lines.append(f"Columns {', '.join(self.empty_columns)} carry no information (empty or one value everywhere).")
        return lines


def identifier_matrix(products: pd.DataFrame, columns: list[str], vocabulary: dict[str, int] | None = None
                      ) -> tuple[sparse.csr_matrix, dict[str, int], IdentifierReport]:
    """Products × identifier keys (1 where the product carries the key), the key vocabulary, and the report.

    Give another table's ``vocabulary`` to place a second table's keys in the same columns (it grows; resize the
    first table's matrix to ``len(vocabulary)`` columns before comparing them).
    """
    report = IdentifierReport(identifier_columns=list(columns))
    vocabulary = {} if vocabulary is None else vocabulary
    rows, cols = [], []
    for column in columns:
        values = products[column].astype(str)
        for row, value in zip(np.flatnonzero(values != ""), values[values != ""]):
            keys, read, problems = cell_keys(value)
            report.identifiers_read += read
            report.identifiers_invalid += len(problems)
            for part, problem in problems[:5 - len(report.invalid_examples)]:
                report.invalid_examples.append({"row": int(products["row"].iat[row]) if "row" in products else int(row) + 1,
                                                "column": column, "value": part, "problem": problem})
            for key in keys:
                rows.append(row)
                cols.append(vocabulary.setdefault(key, len(vocabulary)))
    return _key_matrix(rows, cols, len(products), vocabulary), vocabulary, report


def _key_matrix(rows: list[int], cols: list[int], n_products: int, vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """Products × keys, 1 where a product has a key (a key found twice in one product is still one key)."""
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_products, max(len(vocabulary), 1)))
    matrix.data[:] = 1.0
    return matrix


def title_words(title: str) -> list[str]:
    """The words of a title that may be identifiers: each word, and two adjacent words written together ("gn 4115"
    is GN4115), with a digit and 4 characters or more."""
    words = str(title).split()
    return [w for w in words + [a + b for a, b in pairwise(words)] if len(w) >= 4 and _DIGIT.search(w)]


def title_keys(title: str) -> set[str]:
    """The identifier keys a title names (see :func:`title_words`)."""
    return {key for word in title_words(title) for key in identifier_keys(word)[0]}


def mentioned_keys(titles: pd.Series, vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """Products × the keys of ``vocabulary`` that each title names (:func:`title_words` read as identifiers).

    Shops put the model number in the title and something else (a series, a code of another scheme) in the column,
    or leave the column empty: one listing's identifier named in the other's title is the same evidence as the two
    columns agreeing. Only keys some product carries in an identifier column count, so sizes and specs in titles
    ("64gb", "1400rpm") never become identifiers.
    """
    keys_of: dict[str, list[int]] = {}  # titles repeat their words; each is read once

    def columns(word: str) -> list[int]:
        if word not in keys_of:
            keys_of[word] = [vocabulary[k] for k in identifier_keys(word)[0] if k in vocabulary]
        return keys_of[word]

    rows, cols = [], []
    for row, title in enumerate(titles):
        for word in title_words(title):
            found = columns(word)
            rows.extend([row] * len(found))
            cols.extend(found)
    return _key_matrix(rows, cols, len(titles), vocabulary)


def uninformative(products: pd.DataFrame, columns: list[str]) -> list[str]:
    """Columns that carry nothing to compare: empty everywhere, or one value wherever filled."""
    return [c for c in columns if products[c].astype(str).replace("", pd.NA).nunique() <= 1]


def carries(matrix: sparse.csr_matrix) -> np.ndarray:
    """Which products carry at least one usable identifier."""
    return np.diff(matrix.indptr) > 0


def agreement_pairs(keys: sparse.csr_matrix, carrying: np.ndarray, left: np.ndarray, right: np.ndarray,
                    mentions: sparse.csr_matrix | None = None) -> np.ndarray:
    """+1 where pair (left[i], right[i]) of one catalog shares an identifier (or one's identifier is named in the
    other's title, with ``mentions`` from :func:`mentioned_keys`), -1 where both carry identifiers and none is
    shared, 0 otherwise; ``carrying`` is :func:`carries` of ``keys``, kept by the caller."""
    def shared_keys(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(a[left].multiply(b[right]).sum(axis=1)).ravel()

    shared = shared_keys(keys, keys)
    if mentions is not None:
        shared = shared + shared_keys(keys, mentions) + shared_keys(mentions, keys)
    both = carrying[left] & carrying[right]
    return np.where(shared > 0, 1.0, np.where(both, -1.0, 0.0)).astype(np.float32)


def agreement_all(left: sparse.csr_matrix, right: sparse.csr_matrix, left_mentions: sparse.csr_matrix | None = None,
                  right_mentions: sparse.csr_matrix | None = None) -> np.ndarray:
    """The agreement of every left product with every right product (for two tables being matched); with each
    table's :func:`mentioned_keys`, an identifier named in the other's title counts as shared."""
    shared = left @ right.T
    if left_mentions is not None and right_mentions is not None:
        shared = shared + left @ right_mentions.T + left_mentions @ right.T
    both = np.outer(carries(left), carries(right))
    return np.where(shared.toarray() > 0, 1.0, np.where(both, -1.0, 0.0)).astype(np.float32)
