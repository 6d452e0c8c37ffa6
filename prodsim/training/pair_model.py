"""The pair model: a small MLP that turns a pair's features into a calibrated match probability.

Features of a pair: the hybrid score and each of its signals (dense, character, word, model
code); how the pair ranks among each side's candidates (rank and gap to the best score, both
ways: a product rarely matches something that is not its best candidate); price ratio and
brand agreement. Trained on labelled pairs by cross-fitting (five MLPs with early stopping, each
pair's probability from the MLP that did not see it calibrating their mean, isotonic, and choosing
the F1 threshold); the shipped default is one logistic regression instead (``train_pair_model``).

The seed's [u, v, |u-v|, u*v] vector features were measured and left out: with a few
thousand labelled pairs they overfit (Abt-Buy test F1 0.811 with them vs 0.882 without,
Amazon-Google 0.608 vs 0.657, before the rank features, which bring 0.945 and 0.737).

Every pair model, trained on a catalog's own labels or shipped as the default, reads the same
features in the same order (``FEATURES``), whichever signals a catalog has: a signal it lacks (no
identifier column) is 0. So the default model trained on public benchmark pairs applies to any
catalog, in ``match`` and on the Duplicates page, until the user's own decisions replace it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.lexical import variant_conflict
from prodsim.matching import MatchScores, best_threshold, classification_metrics, pair_positions
from prodsim.workspace import atomic_write_bytes, atomic_write_json

# the fewest labelled pairs a pair model is fitted on: matching (labelled 1), and not (labelled 0)
MIN_POSITIVES = 20
MIN_NEGATIVES = 10
FOLDS = 5  # cross-fitting: each labelled pair calibrates the MLP trained without it
# an MLP's pairs held back for early stopping; its batches are no larger than the rest (as scikit-learn clips them)
EARLY_STOPPING_SHARE = 0.15
PAIR_MODEL_FILE = "pair_model.npz"
DEFAULT_MODEL_DIR = Path(__file__).with_name("default_pair_model")  # a catalog's duplicate candidates
DEFAULT_TABLES_MODEL_DIR = Path(__file__).with_name("default_tables_model")  # two shops' tables (`match`)
SIGNALS = ("dense", "char", "word", "code", "identifier")  # the hybrid score's parts; a missing one is 0
FEATURES = ("score", *SIGNALS, "gap_to_left_best", "gap_to_right_best", "left_rank", "right_rank",
            "price_ratio", "price_known", "brand_same", "brand_known", "variant_conflict")
# The views' own similarities: their scale follows a catalog's wording (short software titles against long electronics
# names), so the default model for two shops' tables reads them only through the score they make up. Chosen leaving
# one benchmark out (bench/default_pair_model.py): Amazon-Google -> Abt-Buy F1 0.874 -> 0.954, the other way 0.754 ->
# 0.755. Among one catalog's duplicate candidates, where a product may have several copies and its ranks say less,
# the views are kept (PriceRunner appliances, tests/test_neighbours.py: F1 0.746 with them, 0.665 without).
WORDING_SCALES = ("dense", "char", "word", "code")


def check_pairs(positions: tuple[np.ndarray, np.ndarray, np.ndarray], name: str) -> None:
    """Refuses labelled pairs that cannot train a model: one class only, or too few matches."""
    labels = positions[2]
    if len(set(labels.tolist())) < 2:
        raise BadInputError(f"{name}: every pair is labelled {labels[0]}; training needs both matches (1) and non-matches (0).")
    if labels.sum() < MIN_POSITIVES:
        raise BadInputError(f"{name}: only {int(labels.sum())} pairs are labelled 1; label at least {MIN_POSITIVES} matching pairs.")


def _price_ratio(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    a, b = left.to_numpy(dtype=float), right.to_numpy(dtype=float)
    known = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
    ratio = np.where(known, np.minimum(a, b) / np.where(known, np.maximum(a, b), 1.0), 0.0)
    return ratio, known.astype(float)


def _brand_agreement(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    a, b = left.fillna("").str.lower().str.strip().to_numpy(), right.fillna("").str.lower().str.strip().to_numpy()
    known = (a != "") & (b != "")
    return (known & (a == b)).astype(float), known.astype(float)


RANK_CAP = 10  # ranks beyond the first few candidates carry no more information


def pair_features(scores: MatchScores, left: pd.DataFrame, right: pd.DataFrame, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The feature matrix (``FEATURES``) of pairs (left row ``rows[i]``, right column ``cols[i]``) of two tables."""
    total = scores.total
    score = total[rows, cols]
    left_rank = (total[rows] > score[:, None]).sum(axis=1)  # right candidates that beat this one for the left product
    right_rank = (total[:, cols] > score[None, :]).sum(axis=0)
    relative = [score - total[rows].max(axis=1), score - total[:, cols].max(axis=0), left_rank, right_rank]
    signals = {name: part[rows, cols] for name, part in scores.parts.items()}
    left_products, right_products = left.iloc[rows], right.iloc[cols]
    conflict = [variant_conflict(a, b) for a, b in zip(left_products["title"], right_products["title"])]
    return _stack(score, signals, relative, left_products, right_products, np.array(conflict, dtype=float))


def candidate_features(pairs: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
    """The same features for one catalog's duplicate candidates (see ProductSimilarity.duplicate_pairs).

    Ranks and gaps to the best score are taken among the candidate pairs each product is in,
    because no catalog-wide score matrix exists here; above the candidate floor they are the same.
    The variant conflict is the candidates' own verdict (titles' numbers, colours, model lines, and attribute columns).
    """
    n = len(products)
    left, right, score = pairs["left"].to_numpy(), pairs["right"].to_numpy(), pairs["score"].to_numpy()
    best = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(best, left, score)
    np.maximum.at(best, right, score)
    sides = pd.DataFrame({"product": np.concatenate([left, right]), "score": np.concatenate([score, score])})
    rank = (sides.groupby("product")["score"].rank(method="min", ascending=False).to_numpy() - 1).reshape(2, -1)
    relative = [score - best[left], score - best[right], rank[0], rank[1]]
    signals = {name: pairs[name].to_numpy() for name in SIGNALS if name in pairs}
    conflict = (pairs["suggested"] == "variant").to_numpy(dtype=float)
    return _stack(score, signals, relative, products.iloc[left], products.iloc[right], conflict)


def _stack(score: np.ndarray, signals: dict[str, np.ndarray], relative: list[np.ndarray], left: pd.DataFrame,
           right: pd.DataFrame, conflict: np.ndarray) -> np.ndarray:
    """The columns of ``FEATURES``: score, signals, ranking, price ratio and brand agreement, variant conflict."""
    missing = np.zeros(len(score))
    gap_left, gap_right, left_rank, right_rank = relative
    ranks = [np.log1p(np.minimum(left_rank, RANK_CAP)), np.log1p(np.minimum(right_rank, RANK_CAP))]
    price, price_known = _price_ratio(left["price"], right["price"])
    brand, brand_known = _brand_agreement(left["brand"], right["brand"])
    columns = [score, *(signals.get(name, missing) for name in SIGNALS), gap_left, gap_right, *ranks,
               price, price_known, brand, brand_known, conflict]
    return np.stack(columns, axis=1).astype(np.float32)


@dataclass
class PairModel:
    """A trained pair model as plain arrays: feature scaling, its members' layers (MLPs, or one linear layer), the
    isotonic calibration's steps of their mean probability and the F1 threshold. Saved as a NumPy archive read
    without pickle, so a file planted in a workspace can hold numbers but never run code."""

    mean: np.ndarray
    scale: np.ndarray
    members: list[tuple[list[np.ndarray], list[np.ndarray]]]  # (weights, biases) per layer, for each member
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    threshold: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Calibrated probability that each pair is the same product."""
        return np.interp(self.ranking_score(features), self.calibration_x, self.calibration_y)  # isotonic steps, clipped

    def ranking_score(self, features: np.ndarray) -> np.ndarray:
        """The members' mean probability before calibration: in the same order as :meth:`probability`, without the
        ties its isotonic steps make among a product's close candidates."""
        # in float32: 2.4-3.3 times faster than float64 over a catalog's millions of candidate pairs, and calibrated
        # probabilities within 0.0004 of it (bench/pair_model_inference.py)
        scaled = ((np.asarray(features, dtype=np.float64) - self.mean) / self.scale).astype(np.float32)
        as32 = lambda arrays: [array.astype(np.float32) for array in arrays]  # noqa: E731
        return np.mean([_forward(scaled, as32(weights), as32(biases)) for weights, biases in self.members], axis=0)

    def reorder(self, scores: MatchScores, left: pd.DataFrame, right: pd.DataFrame,
                chunk: int = 256) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """The second stage of ranking (``reorder`` of :func:`prodsim.matching.retrieval_metrics`): each left row's best
        candidates by the hybrid score, put in this model's order (the hybrid order where it ties).

        Across benchmarks (a linear model trained on one, tested on the other; ``bench/default_pair_model.py``) recall@1
        rises from 0.926 to 0.955 on Abt-Buy and from 0.810 to 0.838 on Amazon-Google. The features of a few hundred
        rows are built at a time, so memory stays bounded whatever the number of left products.
        """
        def reorder(rows: np.ndarray, heads: np.ndarray) -> np.ndarray:
            ordered = np.empty_like(heads)
            for start in range(0, len(rows), chunk):
                block = heads[start:start + chunk]
                features = pair_features(scores, left, right, np.repeat(rows[start:start + chunk], block.shape[1]), block.ravel())
                by_model = np.argsort(-self.ranking_score(features).reshape(block.shape), axis=1, kind="stable")
                ordered[start:start + chunk] = np.take_along_axis(block, by_model, axis=1)
            return ordered
        return reorder

    def save(self, folder: Path, details: dict) -> None:
        """Writes the arrays and a JSON description next to them."""
        import io

        buffer = io.BytesIO()
        layers = {f"{kind}_{m}_{i}": array for m, (weights, biases) in enumerate(self.members)
                  for kind, arrays in (("weight", weights), ("bias", biases)) for i, array in enumerate(arrays)}
        np.savez(buffer, mean=self.mean, scale=self.scale, calibration_x=self.calibration_x, calibration_y=self.calibration_y,
                 threshold=np.array(self.threshold), **layers)
        atomic_write_bytes(folder / PAIR_MODEL_FILE, buffer.getvalue())
        atomic_write_json(folder / "pair_model.json", details | {"threshold": self.threshold, "features": list(FEATURES)})

    @staticmethod
    def load(folder: Path) -> PairModel | None:
        """The pair model saved in ``folder``; None when there is none, or when the file is not this format
        (a model from before this format or with other features, or a planted file): it has to be trained again."""
        path = Path(folder) / PAIR_MODEL_FILE
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                members = _stored_members(saved)
                model = PairModel(saved["mean"], saved["scale"], members, saved["calibration_x"], saved["calibration_y"],
                                  float(saved["threshold"]))
        except (ValueError, KeyError, OSError):
            return None
        return model if model.mean.shape == (len(FEATURES),) and members else None

    @staticmethod
    def default(two_tables: bool = False) -> PairModel:
        """The pair model shipped with prodsim, trained on the public Abt-Buy and Amazon-Google pairs together
        (``bench/default_pair_model.py`` writes it and measures it across benchmarks): for a catalog's duplicate
        candidates, or with ``two_tables`` for two shops' tables (it leaves out :data:`WORDING_SCALES`)."""
        folder = DEFAULT_TABLES_MODEL_DIR if two_tables else DEFAULT_MODEL_DIR
        model = PairModel.load(folder)
        if model is None:
            raise FileNotFoundError(f"The default pair model is missing from {folder}; run bench/default_pair_model.py --write.")
        return model


def train_pair_model(train_features: np.ndarray, train_labels: np.ndarray, valid_features: np.ndarray,
                     valid_labels: np.ndarray, seed: int = 0, linear: bool = False, leave_out: tuple[str, ...] = ()) -> PairModel:
    """The MLP pair model cross-fitted on the training and validation pairs together (:func:`cross_fit_pair_model`),
    or, when ``linear``, a logistic regression fitted on the training pairs and calibrated on validation, with no
    weight on the ``leave_out`` features (such as :data:`WORDING_SCALES`).

    ``linear`` is for a model meant for catalogs it never saw (the shipped default): trained on one benchmark and
    tested on the other at its own threshold, the MLP's F1 moves with its seed (0.31-0.53, Amazon-Google -> Abt-Buy),
    the linear model's is 0.954 with ``leave_out=WORDING_SCALES`` and 0.874 reading every feature
    (bench/default_pair_model.py).
    """
    if not linear:
        return cross_fit_pair_model(np.vstack([train_features, valid_features]), np.concatenate([train_labels, valid_labels]),
                                    seed)[0]
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_features)
    read = np.array([name not in leave_out for name in FEATURES])
    classifier = LogisticRegression(max_iter=5000).fit(scaler.transform(train_features)[:, read], train_labels)
    weights = np.zeros((len(FEATURES), 1))
    weights[read, 0] = classifier.coef_[0]
    member = ([weights], [classifier.intercept_.copy()])
    _ignore_constant_features(member, scaler)
    raw = _forward(scaler.transform(valid_features), *member)
    return _calibrated(scaler, [member], raw, valid_labels)


def cross_fit_pair_model(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[PairModel, np.ndarray]:
    """Cross-fitting: the labelled pairs are split into FOLDS folds, one MLP is trained on the pairs outside each fold,
    and each pair's probability from the MLP that did not see it calibrates the mean of the FOLDS MLPs (isotonic)
    and sets the F1 threshold. So every labelled pair both trains and calibrates, which a single train/validation
    split cannot do: on Amazon-Google with its fine-tuned encoder, test F1 0.780-0.795 over seeds 0-4 (mean 0.787)
    against 0.764-0.789 (0.773) for one MLP calibrated on the validation split; Abt-Buy 0.949 both ways.

    Returns:
        The model and the out-of-fold calibrated probability of every pair (an honest estimate of how it does on
        pairs it never saw, for a held-out figure when there is no test split).
    """
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    scaled = scaler.transform(features)
    folds = max(2, min(FOLDS, int(labels.sum()), int(len(labels) - labels.sum())))
    out_of_fold, members = np.zeros(len(labels)), []
    for inside, outside in StratifiedKFold(folds, shuffle=True, random_state=seed).split(scaled, labels):
        classifier = MLPClassifier(
            hidden_layer_sizes=(64, 32), alpha=1e-3, batch_size=min(64, len(inside) - math.ceil(EARLY_STOPPING_SHARE * len(inside))), learning_rate_init=1e-3,
            max_iter=200, early_stopping=True, validation_fraction=EARLY_STOPPING_SHARE, n_iter_no_change=10, random_state=seed)
        classifier.fit(scaled[inside], labels[inside])
        member = (list(classifier.coefs_), list(classifier.intercepts_))
        _ignore_constant_features(member, scaler)
        members.append(member)
        out_of_fold[outside] = _forward(scaled[outside], *member)
    model = _calibrated(scaler, members, out_of_fold, labels)
    return model, np.interp(out_of_fold, model.calibration_x, model.calibration_y)


def fit_to_labels(default: PairModel, features: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[PairModel, str, dict]:
    """The pair model for a catalog whose user labelled some pairs (``match --valid``, a reviewer's duplicate
    decisions): the default one with its F1 threshold chosen on those pairs, or the MLP cross-fitted on them
    (:func:`cross_fit_pair_model`) when its out-of-fold F1 there is higher.

    Each F1 is as optimistic as the other (a threshold chosen on the labelled pairs; an isotonic calibration fitted on
    them), so the choice favours neither. On real PriceRunner shop pairs that nobody tuned on
    (``bench/unseen_shop_pairs.py``), fitting won where the default's precision was low (merchants 3 -> 17: test F1
    0.74 -> 0.83) and the rule kept the default where the labelled pairs were too hard to learn from (6 -> 31, where
    the fitted model's test F1 was 0.24 against 0.32).

    Returns:
        (model, "default" or "fitted", {"default": figures, "fitted": figures}): precision, recall and F1 of each on
        the labelled pairs (the fitted model's out of fold; None with fewer than MIN_POSITIVES pairs labelled 1 or
        MIN_NEGATIVES labelled 0, too few to fit on).
    """
    default_probability = default.probability(features)
    rethresholded = dataclasses.replace(default, threshold=best_threshold(default_probability, labels))
    evidence = {"default": classification_metrics(default_probability, labels, rethresholded.threshold), "fitted": None}
    if labels.sum() < MIN_POSITIVES or len(labels) - labels.sum() < MIN_NEGATIVES:
        return rethresholded, "default", evidence
    fitted, out_of_fold = cross_fit_pair_model(features, labels, seed)
    evidence["fitted"] = classification_metrics(out_of_fold, labels, fitted.threshold)
    if evidence["fitted"]["f1"] > evidence["default"]["f1"]:
        return fitted, "fitted", evidence
    return rethresholded, "default", evidence


def _calibrated(scaler, members: list, raw: np.ndarray, labels: np.ndarray) -> PairModel:
    """The model of ``members`` with an isotonic calibration of ``raw`` (their probability for pairs with ``labels``)
    and the F1 threshold on those pairs."""
    from sklearn.isotonic import IsotonicRegression

    calibration = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    model = PairModel(scaler.mean_, scaler.scale_, members, calibration.X_thresholds_, calibration.y_thresholds_, 0.5)
    model.threshold = best_threshold(np.interp(raw, model.calibration_x, model.calibration_y), labels)
    return model


def _ignore_constant_features(member: tuple[list[np.ndarray], list[np.ndarray]], scaler) -> None:
    """A feature that never varied in training (no identifier column in the training catalogs) kept its initial
    weights; zeroed, it cannot move a prediction where it does vary."""
    member[0][0][scaler.var_ == 0] = 0.0


def _forward(scaled: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]) -> np.ndarray:
    """One member's probability: ReLU layers (none in a linear model), then a sigmoid."""
    hidden = scaled
    for weight, bias in zip(weights[:-1], biases[:-1]):
        hidden = np.maximum(hidden @ weight + bias, 0.0)
    return 1.0 / (1.0 + np.exp(-(hidden @ weights[-1] + biases[-1])[:, 0]))


def _stored_members(saved) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """The members' layers in a saved archive: "weight_<member>_<layer>", or "weight_<layer>" for the one member of
    an archive written before models had several."""
    def layers(member: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        count = sum(1 for name in saved.files if re.fullmatch(rf"weight_{member}\d+", name))
        return [saved[f"weight_{member}{i}"] for i in range(count)], [saved[f"bias_{member}{i}"] for i in range(count)]

    count = len({name.split("_")[1] for name in saved.files if re.fullmatch(r"weight_\d+_\d+", name)})
    return [layers(f"{m}_") for m in range(count)] if count else ([layers("")] if "weight_0" in saved.files else [])


__all__ = ["DEFAULT_MODEL_DIR", "DEFAULT_TABLES_MODEL_DIR", "FEATURES", "MIN_NEGATIVES", "MIN_POSITIVES", "PairModel", "candidate_features", "check_pairs", "cross_fit_pair_model", "fit_to_labels", "pair_features", "pair_positions", "train_pair_model", "WORDING_SCALES"]
