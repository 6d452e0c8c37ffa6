"""Finding products by what a person types (title, brand or id words), for every product picker.

Pickers never list every product: a catalog of a million would send megabytes of options.
They take a few typed words and offer the first matches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PICKER_LIMIT = 200  # matches a picker offers


def find_products(products: pd.DataFrame, query: str, limit: int = PICKER_LIMIT, among: np.ndarray | None = None) -> np.ndarray:
    """Rows whose title, brand or id contains every typed word (case ignored), in catalog order, at most ``limit``.

    Args:
        among: only these rows (e.g. products never sold); default every product.
    """
    words = [w for w in query.lower().split() if w]
    if not words:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(len(products)) if among is None else np.asarray(among, dtype=np.int64)
    table = products.iloc[rows] if among is not None else products
    text = (table["title"].astype(str) + " " + table["brand"].astype(str) + " " + table["id"].astype(str)).str.lower()
    keep = np.ones(len(rows), dtype=bool)
    for word in words:
        keep &= text.str.contains(word, regex=False).to_numpy()
    return rows[np.flatnonzero(keep)[:limit]]
