"""Matching two product tables: rank every right record for each left record, and classify pairs.

This is the evaluation path behind ``python -m prodsim match``; it runs the same hybrid
similarity as the app, on any two tables whose columns mean the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodsim.embedding import TextTemplate
from prodsim.encoders.base import Encoder
from prodsim.errors import BadInputError
from prodsim.identifiers import agreement_all, identifier_matrix, mentioned_keys
from prodsim.lexical import LexicalEncoder, view_similarities
from prodsim.similarity import HybridWeights, combine, csls, identifier_term

# A left product's best right candidates by the hybrid score that a pair model puts in its own order (its price, brand
# and rank features tell near-identical listings apart); on both benchmarks the gain is the same from 5 on.
RERANKED = 10


@dataclass
class MatchScores:
    """Scores of every left product against every right product.

    Attributes:
        total: (n_left, n_right) hybrid score after hubness correction.
        parts: signal name -> (n_left, n_right) raw similarity.
        left_ids, right_ids: product ids along each axis.
        left_vectors, right_vectors: the text vectors (rows as the ids).
    """

    total: np.ndarray
    parts: dict[str, np.ndarray]
    left_ids: np.ndarray
    right_ids: np.ndarray
    left_vectors: np.ndarray
    right_vectors: np.ndarray


def score_tables(left: pd.DataFrame, right: pd.DataFrame, text_encoder: Encoder,
                 weights: HybridWeights = HybridWeights(), template: TextTemplate = TextTemplate(),
                 identifiers: tuple[list[str], list[str]] = ([], [])) -> MatchScores:
    """Hybrid scores of all pairs between two product tables (as built by prodsim.catalog).

    Args:
        identifiers: each table's identifier columns (GTIN, MPN, model number; see prodsim.identifiers), whose
            agreement adds to the score and whose values join the keyword views; none by default.
    """
    left_vectors, right_vectors = text_encoder.encode(template.render(left)), text_encoder.encode(template.render(right))
    dense = left_vectors @ right_vectors.T
    lexical_encoder = LexicalEncoder().fit(left, right, identifier_columns=identifiers)
    lexical = view_similarities(lexical_encoder.transform(left, identifiers[0]), lexical_encoder.transform(right, identifiers[1]))
    active = weights.active(lexical_encoder.has_codes)
    combined = combine(dense, lexical, active)
    parts = {"dense": dense, **lexical}
    if identifiers[0] or identifiers[1]:  # one table's identifiers can still be named in the other's titles
        parts["identifier"] = identifier_agreement(left, right, *identifiers)
        combined = combined + identifier_term(parts["identifier"], weights)
    return MatchScores(csls(combined, weights.hubness_k), parts, left["id"].to_numpy(), right["id"].to_numpy(),
                       left_vectors, right_vectors)


def identifier_agreement(left: pd.DataFrame, right: pd.DataFrame, left_columns: list[str], right_columns: list[str]) -> np.ndarray:
    """+1 / -1 / 0 for every pair: an identifier shared (or named in the other's title), both carrying identifiers
    but none shared, or neither."""
    left_keys, vocabulary, _ = identifier_matrix(left, left_columns)
    right_keys, vocabulary, _ = identifier_matrix(right, right_columns, vocabulary)
    left_keys.resize((left_keys.shape[0], right_keys.shape[1]))
    return agreement_all(left_keys, right_keys, mentioned_keys(left["title"], vocabulary), mentioned_keys(right["title"], vocabulary))


def retrieval_metrics(scores: MatchScores, gold: pd.DataFrame,
                      reorder: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> dict:
    """Recall@1, recall@10 and MRR of the true right records, over left records with a gold match.

    Args:
        gold: two columns, left id then right id (any names), one row per true pair.
        reorder: given left rows and each one's best right columns by the hybrid score (rows × k), returns those
            columns in a new order (a second stage, as the pair model reranks them); ranks beyond k stay as they are.
            The figures before it are kept under ``before_reorder``.
    """
    left_col, right_col = gold.columns[:2]
    gold = gold.astype(str)
    row_of = {pid: i for i, pid in enumerate(scores.left_ids.astype(str))}
    right_ids = scores.right_ids.astype(str)
    known = gold[left_col].isin(row_of.keys()) & gold[right_col].isin(set(right_ids))
    truth = gold[known].groupby(left_col)[right_col].apply(set)
    if truth.empty:
        raise BadInputError("None of the gold pairs names a left id and a right id of the tables; check --id-col and the gold file.")
    rows = np.array([row_of[left_id] for left_id in truth.index])
    ranks, heads = [], []
    for row, matches in zip(rows, truth):
        order = np.argsort(-scores.total[row], kind="stable")
        hit = np.flatnonzero(np.isin(right_ids[order], list(matches)))
        ranks.append(int(hit[0]) + 1 if len(hit) else len(right_ids) + 1)
        heads.append(order[:RERANKED])
    ranks = np.array(ranks)
    before = _rank_figures(ranks)
    if reorder is not None:
        heads = reorder(rows, np.array(heads))
        for i, (head, matches) in enumerate(zip(heads, truth)):
            if ranks[i] <= len(head):
                ranks[i] = int(np.flatnonzero(np.isin(right_ids[head], list(matches)))[0]) + 1
    figures = {"queries": len(ranks), **_rank_figures(ranks), "gold_pairs": len(gold), "gold_pairs_unknown": int((~known).sum())}
    if reorder is not None:
        figures["before_reorder"] = before
    if not known.all():  # figures over part of the gold file must say so
        example = gold[~known].iloc[0]
        figures["warning"] = (f"{int((~known).sum()):,} of {len(gold):,} gold pairs name ids that are not in the tables (e.g. "
                              f"{example[left_col]} / {example[right_col]}); the figures are over the other {int(known.sum()):,}.")
    return figures


def _rank_figures(ranks: np.ndarray) -> dict:
    """Recall@1, recall@10 and MRR of the true records' ranks (1 = first)."""
    return {"recall_at_1": float((ranks == 1).mean()), "recall_at_10": float((ranks <= 10).mean()), "mrr": float((1 / ranks).mean())}


def pair_positions(scores: MatchScores, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left rows, right columns, labels) of labelled pairs (columns: left id, right id, label 0/1).

    Raises:
        BadInputError: ids that are not in the tables, or labels other than 0 and 1.
    """
    left_col, right_col, label_col = pairs.columns[:3]
    row_of = {pid: i for i, pid in enumerate(scores.left_ids.astype(str))}
    col_of = {pid: i for i, pid in enumerate(scores.right_ids.astype(str))}
    known = pairs[left_col].astype(str).isin(row_of) & pairs[right_col].astype(str).isin(col_of)
    if not known.all():
        raise BadInputError(f"{int((~known).sum()):,} labelled pairs name ids that are not in the tables (first: "
                            f"{pairs.loc[~known].iloc[0, :2].tolist()}). Check --id-col.")
    labels = pairs[label_col].astype(str).str.strip()
    if not labels.isin(["0", "1"]).all():
        odd = labels[~labels.isin(["0", "1"])].unique()[:3]
        raise BadInputError(f"The label column '{label_col}' must hold 0 (different) or 1 (same product); it also holds {', '.join(map(repr, odd))}.")
    rows = pairs[left_col].astype(str).map(row_of).to_numpy()
    cols = pairs[right_col].astype(str).map(col_of).to_numpy()
    return rows, cols, labels.astype(int).to_numpy()


def best_threshold(values: np.ndarray, labels: np.ndarray) -> float:
    """The score threshold that maximises F1 on these labelled pairs."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, values)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])


def classification_metrics(values: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Precision, recall, F1 (fractions) at a threshold, and ROC AUC."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    precision, recall, f1, _ = precision_recall_fscore_support(labels, values >= threshold, average="binary", zero_division=0)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1), "auc": float(roc_auc_score(labels, values)),
            "threshold": threshold}
