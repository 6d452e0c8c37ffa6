"""A duplicate model learnt from a reviewer's own decisions on the Duplicates page.

The page suggests pairs by the hybrid score; once a reviewer has decided enough of them, the
pair model (see :mod:`prodsim.training.pair_model`) is trained on those decisions (or the
default one kept, when it judges them better) and then gives every candidate pair a calibrated
probability of being the same product. "Same product" is the positive class; variants and
different products are negatives. The model is tied to the similarity state it was trained
under (encoders, template, catalog): features from another state mean something else, so it
is not applied there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.matching import best_threshold, classification_metrics
from prodsim.pair_labels import PairLabels
from prodsim.training.pair_model import DEFAULT_MODEL_DIR, MIN_NEGATIVES, MIN_POSITIVES, PairModel, candidate_features, fit_to_labels
from prodsim.workspace import Workspace, check_writable, now_iso

MODEL_FOLDER = "duplicate_model"


@dataclass
class DuplicateModel:
    """A trained duplicate model and what it was measured to do on held-out decisions."""

    pair_model: PairModel
    details: dict

    def probability(self, pairs: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
        """Probability that each candidate pair is one product."""
        if pairs.empty:
            return np.zeros(0, dtype=np.float32)
        return self.pair_model.probability(candidate_features(pairs, products))

    @property
    def threshold(self) -> float:
        return self.pair_model.threshold


def decided_pairs(pairs: pd.DataFrame, products: pd.DataFrame, decisions: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The candidate pairs that carry a decision, and their 0/1 labels (1 = same product)."""
    ids = products["id"].to_numpy()
    keys = [PairLabels.key(a, b) for a, b in zip(ids[pairs["left"]], ids[pairs["right"]])]
    label_of = {PairLabels.key(a, b): label for a, b, label in zip(decisions["left_id"], decisions["right_id"], decisions["label"])}
    labels = pd.Series([label_of.get(key) for key in keys], index=pairs.index)
    known = labels.notna().to_numpy()
    return pairs[known], (labels[known] == "duplicate").astype(int).to_numpy()


def decisions_still_needed(decisions: pd.DataFrame) -> tuple[int, int]:
    """(same product, variant or different): how many more decisions of each kind learning needs at least.

    Counted over every decision; learning counts only those among the pairs listed at the time, so (0, 0) means
    learning can be tried, not that it will find enough.
    """
    same = int((decisions["label"] == "duplicate").sum())
    return max(0, MIN_POSITIVES - same), max(0, MIN_NEGATIVES - (len(decisions) - same))


def train_duplicate_model(pairs: pd.DataFrame, products: pd.DataFrame, decisions: pd.DataFrame, state: str,
                          seed: int = 0) -> DuplicateModel:
    """Trains the duplicate model on the decided candidate pairs; the default model stays (at the threshold the
    decisions choose) when it does at least as well on them (:func:`prodsim.training.pair_model.fit_to_labels`).

    Args:
        pairs: every candidate pair with its score parts (``ProductSimilarity.duplicate_pairs``);
            features need the undecided ones too (ranks among each product's candidates).
        decisions: ``left_id``, ``right_id``, ``label`` (duplicate, variant or different).
        state: the similarity state key the features come from.

    Raises:
        BadInputError: fewer than 20 "same product" or 10 other decisions among the candidates.
    """
    started = time.perf_counter()
    features = candidate_features(pairs, products)
    decided, labels = decided_pairs(pairs.reset_index(drop=True), products, decisions)
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives < MIN_POSITIVES or negatives < MIN_NEGATIVES:
        raise BadInputError(f"Learning needs at least {MIN_POSITIVES} pairs marked 'same product' and {MIN_NEGATIVES} marked "
                            f"variant or different among the listed pairs; there are {positives} and {negatives}. Review more pairs.")
    rows = decided.index.to_numpy()
    pair_model, source, on_decisions = fit_to_labels(PairModel.default(), features[rows], labels, seed)
    score = pairs["score"].to_numpy()[rows]
    held_out = {
        "model": on_decisions["fitted"],  # each decision judged by the member trained without it
        # the default model's and the score's thresholds are chosen on the same decisions: generous baselines
        "default": on_decisions["default"],
        "score": classification_metrics(score, labels, best_threshold(score, labels)),
    }
    details = {"created": now_iso(), "state": state, "source": source, "decisions": len(labels), "same_product": positives,
               "not_same": negatives, "held_out": held_out, "seconds": round(time.perf_counter() - started, 1)}
    return DuplicateModel(pair_model, details)


def save(workspace: Workspace, model: DuplicateModel) -> None:
    """Keeps the model in the workspace (replacing an earlier one)."""
    check_writable("training the duplicate model", "reviewer")
    model.pair_model.save(workspace.path / MODEL_FOLDER, model.details)
    workspace.record("train_duplicate_model", {k: model.details[k] for k in ("decisions", "same_product", "not_same")})


def default_model() -> DuplicateModel:
    """The pair model shipped with prodsim (trained on public shop pairs), used until a reviewer's decisions replace it."""
    details = json.loads((DEFAULT_MODEL_DIR / "pair_model.json").read_text())
    unseen = [figures["f1"] for key, figures in details["measured"].items() if key.count("abt-buy") == 1]  # tested on the other shop pair
    summary = f"on a shop pair it was not trained on it reached F1 {min(unseen):.2f} to {max(unseen):.2f}"
    return DuplicateModel(PairModel.default(), details | {"created": "default", "default": True, "summary": summary})


def load(workspace: Workspace, state: str) -> DuplicateModel | None:
    """The workspace's duplicate model when it was trained under ``state``, else None.

    Raises:
        BadInputError: a model for this state is recorded but its file is not one prodsim writes (an older
            format, or a planted file): nothing in it is run, and it has to be trained again.
    """
    folder = workspace.path / MODEL_FOLDER
    description = folder / "pair_model.json"
    if not description.is_file():
        return None
    details = json.loads(description.read_text())
    if details.get("state") != state:
        return None
    pair_model = PairModel.load(folder)
    if pair_model is None:
        raise BadInputError("The saved duplicate model cannot be read (it was saved in an older format, or the file is "
                            "not a model); nothing in it was run. Suggestions come from the similarity score until you "
                            "learn from your decisions again.")
    return DuplicateModel(pair_model, details)

