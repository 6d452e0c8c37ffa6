"""Lexical signals for product identity: character n-grams, words and model codes.

Dense text vectors are good at "what kind of product" and weak at "which exact product":
two TVs of one brand look alike to them, while their model numbers differ by a character.
These sparse TF-IDF views capture spelling-level overlap (character 3-5-grams), shared
rare words, and shared model codes (tokens mixing letters and digits, with separators
removed so "KDL-40V4100" equals "kdl40v4100").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import sparse

VIEWS = ("char", "word", "code")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9\-/\.]*[a-z0-9]|[a-z0-9]")
_SEPARATORS = re.compile(r"[\-/\.]")
_WORD = re.compile(r"(?u)\b\w+\b")
# "64 gb" -> "64gb" and "1.7 litre" -> "1.7l" for variant checks, so neither spacing nor the unit's spelling makes
# two listings of one product look like variants.
_NUMBER_UNIT = re.compile(r"(\d)\s+(gb|tb|mb|kg|g|l|ml|cl|cm|mm|m|w|kw|mah|v|hz|ghz|in|oz|lb|pk|pack)\b")
UNIT_SPELLINGS = {"l": ("litres", "liters", "litre", "liter", "ltrs", "ltr", "lt"), "ml": ("millilitres", "milliliters", "millilitre", "milliliter"),
                  "kg": ("kilograms", "kilogram", "kilos", "kgs"), "g": ("grams", "gram", "gr"), "in": ("inches", "inch"),
                  "w": ("watts", "watt"), "pk": ("pieces", "piece", "pcs")}
_UNIT_SPELLING = re.compile(r"(\d)\s*(" + "|".join(sorted((w for ws in UNIT_SPELLINGS.values() for w in ws), key=len, reverse=True)) + r")\b")
_UNIT_OF = {spelling: unit for unit, spellings in UNIT_SPELLINGS.items() for spelling in spellings}


def model_codes(text: str) -> list[str]:
    """Tokens that look like model or part numbers: letters and digits, at least 4 characters.

    >>> model_codes("Sony Bravia KDL-40V4100 40in LCD")
    ['kdl40v4100', '40in']
    """
    codes = []
    for token in _TOKEN.findall(text.lower()):
        joined = _SEPARATORS.sub("", token)
        if len(joined) >= 4 and re.search(r"\d", joined) and re.search(r"[a-z]", joined):
            codes.append(joined)
    return codes


VARIANT_WORDS = frozenset("""
black white silver grey gray red blue green yellow orange pink purple brown beige cream ivory gold rose navy teal
coral mint olive graphite charcoal stainless copper bronze clear transparent matte midnight sage terracotta blush
emerald mustard oatmeal spacegrau space xs s m l xl xxl xxxl small medium large
""".split())
# Words that name another model in the same line ("iPhone 7" vs "iPhone 7 Plus", "RX100 III" vs
# "RX100 IV"): one title having it and the other not already makes two different products.
MODEL_LINE_WORDS = frozenset("plus max pro mini lite play ultra se note edge air slim non ii iii iv vi vii viii".split())


@lru_cache(maxsize=1 << 16)
def _variant_marks(text: str) -> frozenset[str]:
    text = _UNIT_SPELLING.sub(lambda m: m.group(1) + _UNIT_OF[m.group(2)], text.lower())
    tokens = {_SEPARATORS.sub("", t) for t in _TOKEN.findall(_NUMBER_UNIT.sub(r"\1\2", text))}
    return frozenset(t for t in tokens if re.search(r"\d", t) or t in VARIANT_WORDS or t in MODEL_LINE_WORDS)


def variant_conflict(left: str, right: str) -> bool:
    """True when two near-identical titles name different variants of one product line.

    "Kettle 1.7 l, White" vs "Kettle 1.7 l, Cream" and "Washer 7kg" vs "Washer 9kg" differ in a
    number or a colour/size word on both sides; "iPhone 7" vs "iPhone 7 Plus" differ in a
    model-line word on one side. Either way they are not the same product listed twice.
    """
    a, b = _variant_marks(left), _variant_marks(right)
    return (bool(a - b) and bool(b - a)) or bool((a ^ b) & MODEL_LINE_WORDS)


@dataclass
class LexicalFeatures:
    """Row-normalised sparse TF-IDF matrices, one per view, rows aligned with products."""

    char: sparse.csr_matrix
    word: sparse.csr_matrix
    code: sparse.csr_matrix

    def rows(self, index) -> LexicalFeatures:
        """A subset of rows."""
        return LexicalFeatures(self.char[index], self.word[index], self.code[index])

    def __len__(self) -> int:
        return self.char.shape[0]


class LexicalEncoder:
    """Fits TF-IDF vocabularies on a catalog (or two) and turns products into sparse views.

    Args:
        max_features: cap per view, keeps memory bounded on large catalogs.
    """

    def __init__(self, max_features: int = 300_000):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True,
                                    max_features=max_features, dtype=np.float32)
        self.word = TfidfVectorizer(token_pattern=_WORD.pattern, sublinear_tf=True, lowercase=True,
                                    max_features=max_features, dtype=np.float32)
        self.code = TfidfVectorizer(analyzer=lambda codes: codes, sublinear_tf=True, dtype=np.float32)

    @staticmethod
    def _texts(products: pd.DataFrame, identifier_columns: Sequence[str] = ()) -> tuple[pd.Series, pd.Series]:
        """(title + brand + identifiers, that + description). A model number kept only in its own column still
        counts in the character and code views, where a variant of it ("FS726TP", "FS726TPNA") is near, not different."""
        names = products["title"].fillna("") + " " + products["brand"].fillna("")
        for column in identifier_columns:
            names = names + " " + products[column].fillna("").astype(str)
        names = names.str.strip()
        everything = names + " " + products["description"].fillna("")
        return names, everything

    def fit(self, *catalogs: pd.DataFrame, identifier_columns: Sequence[Sequence[str]] | None = None) -> LexicalEncoder:
        """Learns the vocabularies and rarity weights from one or more product tables (``identifier_columns``: each
        table's identifier columns, see :meth:`_texts`)."""
        columns = identifier_columns or [()] * len(catalogs)
        names, everything = zip(*(self._texts(c, cols) for c, cols in zip(catalogs, columns)))
        names, everything = pd.concat(names), pd.concat(everything)
        self.char.fit(names)
        self.word.fit(names)
        codes = everything.map(model_codes)
        self.has_codes = bool(codes.map(len).sum())
        if self.has_codes:
            self.code.fit(codes)
        return self

    def transform(self, products: pd.DataFrame, identifier_columns: Sequence[str] = ()) -> LexicalFeatures:
        """Sparse views of each product (title, brand and identifiers; codes also from the description)."""
        names, everything = self._texts(products, identifier_columns)
        code = self.code.transform(everything.map(model_codes)).tocsr() if self.has_codes else _no_codes(len(products))
        return LexicalFeatures(self.char.transform(names).tocsr(), self.word.transform(names).tocsr(), code)

    def fit_transform(self, products: pd.DataFrame, identifier_columns: Sequence[str] = ()) -> LexicalFeatures:
        """``fit(products).transform(products)``, reading each text once (half the time at 35k)."""
        names, everything = self._texts(products, identifier_columns)
        codes = everything.map(model_codes)
        self.has_codes = bool(codes.map(len).sum())
        code = self.code.fit_transform(codes).tocsr() if self.has_codes else _no_codes(len(products))
        return LexicalFeatures(self.char.fit_transform(names).tocsr(), self.word.fit_transform(names).tocsr(), code)


def _no_codes(rows: int) -> sparse.csr_matrix:
    """The code view of a catalog without model codes: one empty column."""
    return sparse.csr_matrix((rows, 1), dtype=np.float32)


def view_similarities(left: LexicalFeatures, right: LexicalFeatures) -> dict[str, np.ndarray]:
    """Cosine similarity of every left row to every right row, per view.

    Returns:
        view -> dense (len(left), len(right)) float32 array.
    """
    return {view: (getattr(left, view) @ getattr(right, view).T).toarray().astype(np.float32) for view in VIEWS}


def _idf(vectorizer, term: str) -> float | None:
    """A term's IDF weight by a vocabulary lookup (a catalog's vocabulary holds up to 300k terms: never listed whole)."""
    column = vectorizer.vocabulary_.get(term)
    return None if column is None else float(vectorizer.idf_[column])


def shared_terms(left_text: str, right_text: str, encoder: LexicalEncoder, top: int = 6) -> list[tuple[str, float]]:
    """The words and codes two products share, rarest first, with their IDF weight.

    A single Latin letter or digit ("l" and "7" of "1.7 l") tells a person nothing and is left out; a single Chinese
    character is a word and stays."""
    words = {w.lower() for w in _WORD.findall(left_text)} & {w.lower() for w in _WORD.findall(right_text)}
    scored = [(w, idf) for w in words if not (len(w) == 1 and w.isascii()) and (idf := _idf(encoder.word, w)) is not None]
    codes = set(model_codes(left_text)) & set(model_codes(right_text))
    fallback = max((s for _, s in scored), default=1.0)
    scored += [(c, (_idf(encoder.code, c) if encoder.has_codes else None) or fallback) for c in codes if c not in words]
    return sorted(scored, key=lambda item: -item[1])[:top]
