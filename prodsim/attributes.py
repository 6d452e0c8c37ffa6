"""Attribute columns compared by what their values mean: quantities with units, colours, clothing sizes.

Two listings that fill an attribute with different values are variants ("same model, other colour"), so
the comparison must not see a difference where there is none: "1.7 l" and "1700 ml", "55 in" and
"139.7 cm", "Gray" and "grey", "X-Large" and "XL" are the same value. Units are read by Pint. A column's
kind comes from its name (colour, size) or, for quantities, from its values; anything else is compared
as text without case, spacing or Unicode-form differences. Values are turned into comparable keys once
per distinct value, so a million products with a few hundred sizes cost a few hundred parses.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

COLOUR_NAMES = re.compile(r"colou?r|farbe|couleur|shade", re.I)
SIZE_NAMES = re.compile(r"\bsize\b|größe|groesse|taille|talla", re.I)
QUANTITY_SHARE = 0.8  # a column is a quantity when this share of its distinct values read as a number with a unit
SIGNIFICANT = 3  # quantities equal to three significant digits are the same (55 in = 139.7 cm = 1.40 m)
COLOUR_SYNONYMS = {"gray": "grey", "colour": "", "color": ""}
SIZE_WORDS = {"extra small": "xs", "x-small": "xs", "small": "s", "medium": "m", "med": "m", "large": "l", "extra large": "xl",
              "x-large": "xl", "xx-large": "xxl", "2xl": "xxl", "xxx-large": "xxxl", "3xl": "xxxl"}
_NUMBER_UNIT = re.compile(r"(\d)\s+([a-z]+)")
_DECIMAL_COMMA = re.compile(r"(\d),(\d{1,2})(?!\d)")  # "1,7 l" is 1.7 l; "1,700 ml" keeps its thousands separator
_INCHES = re.compile(r'(\d)\s*(?:"|”|″|inch(?:es)?\b)')
_COLOUR_SEPARATORS = re.compile(r"\s*[/,&+]\s*|\s+and\s+")


@lru_cache(maxsize=1)
def _units():
    import pint

    return pint.UnitRegistry()


@lru_cache(maxsize=65536)
def quantity_key(value: str) -> str | None:
    """"volume:0.0017" for "1.7 l" (base units, three significant digits); None when the value is not a number with a unit."""
    text = _INCHES.sub(r"\1 in", _DECIMAL_COMMA.sub(r"\1.\2", unicodedata.normalize("NFKC", value).strip()))
    if not re.search(r"\d", text) or not re.search(r"[A-Za-z]", text):
        return None
    try:
        quantity = _units().Quantity(text.replace(",", ""))
    except Exception:  # Pint raises its own errors, and tokenizer or value errors, on text that is not a quantity
        return None
    if quantity.dimensionless:
        units = str(quantity.units)
        if "byte" not in units and "bit" not in units:
            return None  # a bare number, or a word Pint reads as a ratio
        quantity = quantity.to("byte")
    base = quantity.to_base_units()
    return f"{base.dimensionality}:{float(base.magnitude):.{SIGNIFICANT}g}"


def _text_key(value: str) -> str:
    text = _NUMBER_UNIT.sub(r"\1\2", unicodedata.normalize("NFKC", value).casefold().strip())
    return " ".join(text.split())


def comparable(value: str, kind: str) -> str:
    """The key two values of one attribute compare by ("" for an empty cell)."""
    value = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    text = _text_key(value)
    if not text:
        return ""
    if kind == "quantity":
        return quantity_key(value) or text
    if kind == "colour":
        names = (" ".join(COLOUR_SYNONYMS.get(word, word) for word in part.split()) for part in _COLOUR_SEPARATORS.split(text))
        return " / ".join(sorted(name for name in names if name))  # "black/white" is "White & Black"
    if kind == "size":
        size = SIZE_WORDS.get(text, text)
        return re.sub(r"^(eu|uk|us|size)\s*", "", size)
    return text


def column_kind(name: str, values: pd.Series) -> str:
    """"colour" or "size" by the column's name, "quantity" when most distinct values carry a unit, else "text"."""
    if COLOUR_NAMES.search(name):
        return "colour"
    if SIZE_NAMES.search(name):
        return "size"
    distinct = pd.unique(values.astype(str).str.strip())
    distinct = [v for v in distinct[:200] if v]
    if distinct and np.mean([quantity_key(v) is not None for v in distinct]) >= QUANTITY_SHARE:
        return "quantity"
    return "text"


def column_keys(products: pd.DataFrame, column: str) -> np.ndarray:
    """Every product's comparable key for one attribute column (each distinct value read once)."""
    kind = column_kind(column, products[column])
    values = products[column].fillna("").astype(str)
    keys = {value: comparable(value, kind) for value in values.unique()}
    return values.map(keys).to_numpy()


def attribute_conflict_pairs(products: pd.DataFrame, columns: list[str], left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For each pair (left[i], right[i]), whether an attribute is filled on both sides with values that differ."""
    conflict = np.zeros(len(left), dtype=bool)
    for column in columns:
        keys = column_keys(products, column)
        a, b = keys[left], keys[right]
        conflict |= (a != "") & (b != "") & (a != b)
    return conflict


def attribute_conflicts(products: pd.DataFrame, columns: list[str], left: int, right: int) -> dict[str, tuple[str, str]]:
    """The attributes products ``left`` and ``right`` (rows) both fill with values that differ, as written."""
    found = {}
    for column in columns:
        kind = column_kind(column, products[column])
        a, b = products[column].iloc[left], products[column].iloc[right]
        key_a, key_b = comparable(a, kind), comparable(b, kind)
        if key_a and key_b and key_a != key_b:
            found[column] = (a, b)
    return found


__all__ = ["attribute_conflict_pairs", "attribute_conflicts", "column_keys", "column_kind", "comparable", "quantity_key"]
