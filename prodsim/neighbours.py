"""Similar products inside one catalog: neighbours, explanations, search and duplicate pairs.

:class:`ProductSimilarity` holds what scoring needs (fused vectors, lexical views, an index)
and answers every question with the same hybrid score, so the neighbours, search and
duplicates pages agree with each other and with ``python -m prodsim match``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from prodsim.attributes import attribute_conflict_pairs, attribute_conflicts
from prodsim.embedding import ProductVectors
from prodsim.encoders.fusion import Fusion
from prodsim.identifiers import (ColumnRoles, agreement_pairs, carries, cell_keys, identifier_keys, identifier_matrix,
                                 mentioned_keys, title_keys)
from prodsim.index import ALL_PAIRS_EXACT_LIMIT, batch_index, build_index, search_in_blocks
from prodsim.lexical import VIEWS, LexicalEncoder, LexicalFeatures, shared_terms, variant_conflict
from prodsim.similarity import HybridWeights, identifier_term

CANDIDATES = 300  # rows re-scored per query when the catalog is too large to score every row
PAIR_BLOCK = 200_000  # candidate pairs scored at once by duplicate_pairs (memory, not speed)
SCORE_ALL_LIMIT = 20_000  # up to this many products a query scores every product; above, the index's candidates
DUPLICATE_THRESHOLD = 0.8  # default hybrid score above which two listings are shown as likely duplicates
# A key held (or named in titles) by more products than this is a series or a placeholder, not one product's
# identifier: it adds no duplicate candidates (a key in 10,000 listings would add 50 million pairs).
IDENTIFIER_CANDIDATE_LIMIT = 20


def _rowwise(left: sparse.csr_matrix, right: sparse.csr_matrix) -> np.ndarray:
    """Dot products of matching rows of two sparse matrices."""
    return np.asarray(left.multiply(right).sum(axis=1)).ravel().astype(np.float32)


class ProductSimilarity:
    """Hybrid similarity over one catalog's products.

    Args:
        products: the workspace's product table (row order = vector order).
        vectors: from :func:`prodsim.embedding.embed_products`.
        image_weight: photo share of the dense score (None = default).
        weights: signal weights (see :class:`prodsim.similarity.HybridWeights`).
        index_folder: where an approximate index of a very large catalog is saved (the workspace's).
        fusion, lexical_encoder, index: the stages, swappable (defaults: :class:`Fusion` of ``vectors`` with
            ``image_weight``, a :class:`LexicalEncoder` fitted on ``products``, :func:`build_index` of the fused vectors).
        lexical: ``products``' views from ``lexical_encoder`` when already computed (then nothing is fitted).
        roles: identifier columns (a shared GTIN or model number adds to the score, different ones subtract) and
            attribute columns (different colours or sizes make a pair variants, not duplicates).
    """

    def __init__(self, products: pd.DataFrame, vectors: ProductVectors, image_weight: float | None = None,
                 weights: HybridWeights = HybridWeights(), index_folder: Path | None = None, *, fusion: Fusion | None = None,
                 lexical_encoder: LexicalEncoder | None = None, lexical: LexicalFeatures | None = None, index=None,
                 roles: ColumnRoles | None = None):
        self.products = products.reset_index(drop=True)
        self.vectors = vectors
        self.fusion = fusion or Fusion(vectors, image_weight)
        self.roles = roles or ColumnRoles()
        self.lexical_encoder = lexical_encoder or LexicalEncoder()
        # Views given with their (fitted) encoder are used as they are: a workspace keeps them (prodsim.lexical_store).
        self.lexical = lexical if lexical is not None else self.lexical_encoder.fit_transform(self.products, self.roles.identifiers)
        self.weights = weights.active(self.lexical_encoder.has_codes)
        self.hybrid_weights = weights
        self.identifier_keys, self._identifier_vocabulary = (identifier_matrix(self.products, self.roles.identifiers)[:2]
                                                             if self.roles.identifiers else (None, {}))
        self._carries_identifier = carries(self.identifier_keys) if self.identifier_keys is not None else None  # per query
        self._identifier_mentions = (mentioned_keys(self.products["title"], self._identifier_vocabulary)
                                     if self.identifier_keys is not None else None)
        self.index = index or build_index(self.fusion.matrix(), folder=index_folder)
        self.row_of = {pid: i for i, pid in enumerate(self.products["id"])}
        self._term_columns = None  # words and codes by column, made on the first candidate query of a large catalog

    def __len__(self) -> int:
        return len(self.products)

    def _score_pairs(self, left: np.ndarray, right: np.ndarray, lexical_left: LexicalFeatures | None = None) -> pd.DataFrame:
        """Hybrid score and its parts for pairs (left[i], right[i])."""
        fused = self.fusion.pair_scores(left, right)
        lex_left = lexical_left if lexical_left is not None else self.lexical.rows(left)
        parts = {view: _rowwise(getattr(lex_left, view), getattr(self.lexical.rows(right), view)) for view in VIEWS}
        total = self.weights["dense"] * fused.total + sum(self.weights[v] * parts[v] for v in VIEWS)
        if self.identifier_keys is not None:
            parts["identifier"] = agreement_pairs(self.identifier_keys, self._carries_identifier, left, right,
                                                  self._identifier_mentions)
            total = total + identifier_term(parts["identifier"], self.hybrid_weights)
        return pd.DataFrame({"candidate": right, "score": total.astype(np.float32), "dense": fused.total, "text": fused.text,
                             "image": fused.image, "image_used": fused.image_used, **parts})

    def _candidates(self, row: int) -> np.ndarray:
        if len(self) <= SCORE_ALL_LIMIT and self.index.exact:
            return np.arange(len(self))
        _, dense_rows = self.index.search(self.fusion.matrix()[row], CANDIDATES)
        return np.union1d(dense_rows[0], self._lexical_candidates(row))

    def _lexical_candidates(self, row: int) -> np.ndarray:
        """Rows sharing the most weight of the product's words and model codes, from column-wise copies of those views.

        Only the postings of the product's own terms are read (a million-row character product took
        about a second per query); the candidates are then scored on every signal, characters included.
        """
        if self._term_columns is None:
            self._term_columns = sparse.hstack([self.lexical.word, self.lexical.code]).tocsc()
        query = sparse.hstack([self.lexical.word[row], self.lexical.code[row]]).tocsr()
        scores = (self._term_columns[:, query.indices] @ query.data).ravel()
        hits = np.flatnonzero(scores)
        if len(hits) <= CANDIDATES:
            return hits
        return hits[np.argpartition(-scores[hits], CANDIDATES)[:CANDIDATES]]

    def neighbours(self, row: int, k: int = 12, keep: Callable[[pd.DataFrame], pd.Series] | None = None) -> pd.DataFrame:
        """The ``k`` most similar products to product ``row`` (itself excluded), best first.

        Args:
            keep: optional filter over the candidate table joined with product columns.

        Returns:
            ``candidate`` (row index), ``score`` and its parts (dense, text, image, char, word, code),
            then the product's columns.
        """
        candidates = self._candidates(row)
        candidates = candidates[candidates != row]
        scored = self._score_pairs(np.full(len(candidates), row), candidates)
        table = scored.join(self.products, on="candidate")
        if keep is not None:
            table = table[keep(table)]
        return table.nlargest(k, "score").reset_index(drop=True)

    def explain(self, row: int, other: int) -> dict:
        """Why two products are similar: score shares, shared rare terms, differences (price, brand, category and
        attributes), the fields both fill alike (``same``), and how their identifiers compare."""
        pair = self._score_pairs(np.array([row]), np.array([other])).iloc[0]
        w = self.weights
        contributions = {
            "text": w["dense"] * (pair["text"] * (1 - self.fusion.image_weight) if pair["image_used"] else pair["text"]),
            "photo": w["dense"] * self.fusion.image_weight * pair["image"] if pair["image_used"] else 0.0,
            "wording": w["char"] * pair["char"] + w["word"] * pair["word"],
            "model code": w["code"] * pair["code"],
            "identifier": float(identifier_term(np.array([pair.get("identifier", 0.0)]), self.hybrid_weights)[0]),
        }
        positive = {k: max(v, 0.0) for k, v in contributions.items()}
        total = sum(positive.values()) or 1.0
        a, b = self.products.iloc[row], self.products.iloc[other]
        # identifier values are read by the keyword views too, so a model number one keeps in its column and the
        # other in its title is a shared code
        text_of = lambda p: " ".join([p["title"], p["brand"], p["description"], *(str(p[c]) for c in self.roles.identifiers)])  # noqa: E731
        differences = {}
        for column in ("price", "brand", "category"):
            if str(a[column]) != str(b[column]):
                differences[column] = (a[column], b[column])
        differences |= attribute_conflicts(self.products, self.roles.attributes, row, other)
        filled = lambda value: pd.notna(value) and str(value).strip() != ""  # noqa: E731
        return {
            "score": float(pair["score"]),
            "shares": {k: float(v / total) for k, v in positive.items()},
            "shared_terms": shared_terms(text_of(a), text_of(b), self.lexical_encoder),
            "differences": differences,
            # what both fill alike, so "no differences" can say what was compared (a catalog may have no brand or price)
            "same": [c for c in ("brand", "category", "price", *self.roles.attributes)
                     if c not in differences and filled(a[c]) and filled(b[c])],
            "identifiers": self._identifiers_of(a, b),
        }

    def side_by_side(self, row: int, other: int, fields: list[str]) -> pd.DataFrame:
        """Two products field by field, for a reviewer deciding whether they are one product.

        Rows: ``fields``, then the identifier columns, then the attribute columns (``field``, ``first``, ``second``;
        a missing value is blank, and a field blank in both is left out).
        ``verdict`` says how an identifier compares (as in :meth:`explain`) and "variant" for an attribute whose
        values differ in meaning (1.7 l and 1700 ml do not); ``differs`` marks those rows, identifiers that do not
        agree, and other fields whose values differ beyond letter case.
        """
        a, b = self.products.iloc[row], self.products.iloc[other]
        identifiers = self._identifiers_of(a, b)
        variants = attribute_conflicts(self.products, self.roles.attributes, row, other)
        rows = []
        for column in dict.fromkeys([*fields, *self.roles.identifiers, *self.roles.attributes]):
            if column not in self.products:
                continue
            first, second = ("" if pd.isna(value) else str(value) for value in (a[column], b[column]))
            if not first and not second:
                continue
            if column in self.roles.identifiers:
                verdict = identifiers.get(column, {}).get("verdict", "")
                differs = verdict in ("different", "one side")
            elif column in self.roles.attributes:
                verdict = "variant" if column in variants else ""
                differs = bool(verdict)
            else:
                verdict, differs = "", column != "id" and first.casefold() != second.casefold()
            rows.append({"field": column, "first": first, "second": second, "verdict": verdict, "differs": differs})
        return pd.DataFrame(rows, columns=["field", "first", "second", "verdict", "differs"])

    def _identifiers_of(self, a: pd.Series, b: pd.Series) -> dict[str, dict]:
        """Each identifier column's two values and whether they agree: "same", "in title" (one's value is named in
        the other's title), "different", or "one side"."""
        found = {}
        left_named, right_named = title_keys(a["title"]), title_keys(b["title"])
        for column in self.roles.identifiers:
            left_keys, right_keys = set(cell_keys(a[column])[0]), set(cell_keys(b[column])[0])
            if left_keys or right_keys:
                named = bool(left_keys & right_named or right_keys & left_named)
                verdict = ("same" if left_keys & right_keys else "in title" if named
                           else "different" if left_keys and right_keys else "one side")
                found[column] = {"left": a[column], "right": b[column], "verdict": verdict}
        return found

    def search_text(self, query: str, query_vector: np.ndarray, k: int = 20, keyword_weight: float = 0.5) -> pd.DataFrame:
        """Products for a free-text query.

        Args:
            query: the words typed.
            query_vector: the query encoded by the catalog's text encoder, shape (d_text,).
            keyword_weight: 0 = meaning only (dense), 1 = words only (lexical).
        """
        dense = self.vectors.text @ query_vector
        lexical_query = self.lexical_encoder.transform(pd.DataFrame({"title": [query], "brand": [""], "description": [query]}))
        lexical_weights = {v: self.weights[v] for v in VIEWS}
        norm = sum(lexical_weights.values()) or 1.0
        lexical = sum(lexical_weights[v] / norm * (getattr(self.lexical, v) @ getattr(lexical_query, v).T).toarray().ravel() for v in VIEWS)
        score = (1 - keyword_weight) * dense + keyword_weight * lexical
        carrying = self.carrying_identifier(query)
        top = np.argsort(-(score + 2.0 * carrying), kind="stable")[:k]  # scores lie in [-1, 1]: carriers come first
        return self.products.iloc[top].assign(score=score[top], meaning=dense[top], words=lexical[top],
                                              identifier_match=carrying[top]).reset_index(drop=True)

    def carrying_identifier(self, query: str) -> np.ndarray:
        """Which products carry an identifier the query is or contains, however written ("0 4006381 333931" is
        EAN 4006381333931, "kx 4121d" is KX-4121D); (n,) bool, all False without identifier columns."""
        found = np.zeros(len(self.products), dtype=bool)
        if self.identifier_keys is None:
            return found
        # The whole query (a GTIN typed with spaces), and each word of it with a digit and 4 characters or more (a
        # model number or GTIN among words): plain words and short numbers ("kettle", "40") are not looked up.
        words = [word for word in query.split() if len(word) >= 4 and any(c.isdigit() for c in word)]
        keys = set(identifier_keys(query)[0]).union(*(identifier_keys(word)[0] for word in words))
        columns = [self._identifier_vocabulary[key] for key in keys if key in self._identifier_vocabulary]
        if columns:
            found = np.asarray(self.identifier_keys[:, columns].sum(axis=1)).ravel() > 0
        return found

    def search_photo(self, photo_vector: np.ndarray, k: int = 20) -> pd.DataFrame:
        """Products whose photo looks most like an uploaded one (vector from the catalog's image encoder)."""
        if self.vectors.image is None:
            return self.products.iloc[[]].assign(score=[])
        score = np.where(self.vectors.has_image, self.vectors.image @ photo_vector, -1.0)
        top = np.argsort(-score, kind="stable")[:k]
        top = top[self.vectors.has_image[top]]
        return self.products.iloc[top].assign(score=score[top]).reset_index(drop=True)

    def _identifier_pairs(self) -> np.ndarray:
        """Pairs of products sharing an identifier, or one's named in the other's title: candidates whatever their
        vectors say, since a dozen look-alike listings of one shop can be nearer than the other shop's listing with
        the same GTIN. Keys in more than IDENTIFIER_CANDIDATE_LIMIT products add none."""
        if self.identifier_keys is None:
            return np.empty((0, 2), dtype=np.int64)
        held = np.asarray(self.identifier_keys.sum(axis=0) + self._identifier_mentions.sum(axis=0)).ravel()
        identifying = sparse.diags((held <= IDENTIFIER_CANDIDATE_LIMIT).astype(np.float32))
        keys, mentions = self.identifier_keys @ identifying, self._identifier_mentions @ identifying
        shared = (keys @ keys.T + keys @ mentions.T).tocoo()
        return np.stack([shared.row, shared.col], axis=1).astype(np.int64)

    @cached_property
    def _all_pairs_index(self):
        """The index the all-pairs search asks: a fast HNSW graph (built once) for large catalogs still searched exactly."""
        if not self.index.exact or len(self) <= ALL_PAIRS_EXACT_LIMIT:
            return self.index
        return batch_index(self.fusion.matrix())

    def duplicate_pairs(self, threshold: float = DUPLICATE_THRESHOLD, k: int = 10, same_seller: bool = False,
                        progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:
        """Pairs of products scoring at least ``threshold``, each pair once, best first.

        Candidates are every product's ``k`` nearest by the fused vectors and the pairs that share an identifier
        (see :meth:`_identifier_pairs`); they are re-scored
        with the full hybrid score. Pairs whose numbers, colours, sizes or model-line words conflict
        (9 kg vs 7 kg, white vs cream, iPhone 7 vs 7 Plus) are suggested as variants rather than duplicates.

        Args:
            same_seller: also pair listings of one seller. Off by default because a seller's own
                listings are mostly its distinct products under generic titles (on PriceRunner all
                8,108 identical-title pairs within one merchant are different products); it has
                no effect when the catalog has no seller column.

        Returns:
            Columns ``left``, ``right`` (row indices), ``score`` and its parts.
        """
        _, rows = search_in_blocks(self._all_pairs_index, self.fusion.matrix(), k + 1, progress)
        pairs = np.stack([np.repeat(np.arange(len(rows)), rows.shape[1]), rows.ravel()], axis=1)
        pairs = np.vstack([pairs[pairs[:, 1] >= 0], self._identifier_pairs()])
        pairs = np.unique(np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1), axis=0)
        sellers = self.products["seller"].to_numpy() if "seller" in self.products else None
        if not same_seller and sellers is not None:
            pairs = pairs[(sellers[pairs[:, 0]] != sellers[pairs[:, 1]]) | (sellers[pairs[:, 0]] == "")]
        kept = []
        for start in range(0, max(len(pairs), 1), PAIR_BLOCK):  # blocks: a million products' 10M pairs took 20 GB at once
            block = pairs[start:start + PAIR_BLOCK]
            scored = self._score_pairs(block[:, 0], block[:, 1]).rename(columns={"candidate": "right"})
            scored.insert(0, "left", block[:, 0])
            kept.append(scored[scored["score"] >= threshold])
            if progress:
                progress("Scoring candidate pairs", min(start + PAIR_BLOCK, len(pairs)), len(pairs))
        scored = pd.concat(kept, ignore_index=True).sort_values("score", ascending=False).reset_index(drop=True)
        titles = self.products["title"].to_numpy()
        conflict = np.array([variant_conflict(titles[a], titles[b]) for a, b in zip(scored["left"], scored["right"])], dtype=bool)
        # "same model, other colour": a variant whatever the titles say
        conflict |= attribute_conflict_pairs(self.products, self.roles.attributes, scored["left"].to_numpy(), scored["right"].to_numpy())
        return scored.assign(suggested=np.where(conflict, "variant", "duplicate"))


def duplicate_groups(pairs: pd.DataFrame, n_products: int) -> np.ndarray:
    """Connected components of the duplicate graph: a group number per product (-1 = no duplicate)."""
    from scipy.sparse.csgraph import connected_components

    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs["left"], pairs["right"])), shape=(n_products, n_products))
    _, labels = connected_components(graph, directed=False)
    in_pair = np.zeros(n_products, dtype=bool)
    in_pair[pairs["left"]] = in_pair[pairs["right"]] = True
    return np.where(in_pair, labels, -1)
