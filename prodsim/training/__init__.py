"""Transfer learning on a catalog's own labels: fine-tune the text encoder, then train the pair model.

:func:`train_matching` is the one implementation behind ``python -m prodsim finetune``, the
Evaluation page and ``bench/train_matching.py``. A trained model is a folder: ``encoder/``
(a Hugging Face model folder, present when fine-tuning improved validation), the pair model,
and ``prodsim_model.json`` (data, settings, metrics, date). ``python -m prodsim match --model
DIR`` reads it back.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from prodsim.embedding import TextTemplate
from prodsim.encoders.base import Encoder
from prodsim.errors import BadInputError
from prodsim.matching import (
    RERANKED,
    MatchScores,
    classification_metrics,
    best_threshold,
    pair_positions,
    retrieval_metrics,
    score_tables,
)
from prodsim.training.finetune import FinetuneConfig, finetune_text_encoder
from prodsim.training.pair_model import PairModel, check_pairs, fit_to_labels, pair_features, train_pair_model
from prodsim.workspace import atomic_write_bytes, atomic_write_json, now_iso

MODEL_FILE = "prodsim_model.json"
PREDICTIONS_FILE = "test_predictions.csv"


def evaluate_scores(scores: MatchScores, left: pd.DataFrame, right: pd.DataFrame, gold: pd.DataFrame | None,
                    test: pd.DataFrame | None, valid: pd.DataFrame | None, pair_model: PairModel | None = None,
                    fit_to_valid: bool = False) -> dict:
    """Retrieval figures (with gold) and pair classification on ``test``.

    With a pair model, pairs are classified by its calibrated probability and its own threshold (and, with
    ``valid``, the hybrid score's figures are added under ``hybrid_score``); without, by the hybrid score with
    the F1 threshold chosen on ``valid``. With ``fit_to_valid`` (the default pair model, which never saw this
    catalog) and ``valid``, the model is fitted to the valid pairs first (:func:`fit_to_labels`); its figures at its
    own threshold stay under ``zero_shot``.

    With a pair model, retrieval ranks each left product's best candidates by it (:meth:`PairModel.reorder`,
    ``reranked_top`` of them) and keeps the hybrid score's own ranking figures under ``hybrid_score``. The model given
    ranks, not one fitted to the valid pairs: on PriceRunner shop pairs (``bench/unseen_shop_pairs.py``) an MLP fitted
    on a fifth of the labelled pairs lowered recall@1 on four of the six where it classified (0.891 -> 0.874 at worst),
    where the default raised it on seven of eight and matched it on the eighth.
    """
    result: dict = {}
    ranker = pair_model
    if test is not None:
        pair_model, result = _classify(scores, left, right, test, valid, pair_model, fit_to_valid)
    if gold is None:
        return result
    if ranker is None:
        return retrieval_metrics(scores, gold) | result
    reranked = retrieval_metrics(scores, gold, ranker.reorder(scores, left, right))
    by_score = result.pop("hybrid_score", {}) | reranked.pop("before_reorder")
    return reranked | {"reranked_top": RERANKED} | result | {"hybrid_score": by_score}


def _classify(scores: MatchScores, left: pd.DataFrame, right: pd.DataFrame, test: pd.DataFrame, valid: pd.DataFrame | None,
              pair_model: PairModel | None, fit_to_valid: bool) -> tuple[PairModel | None, dict]:
    """(the pair model used, after fitting to ``valid`` where asked; the classification figures on ``test``)."""
    rows, cols, labels = pair_positions(scores, test)
    if valid is not None:
        v_rows, v_cols, v_labels = pair_positions(scores, valid)
        by_score = classification_metrics(scores.total[rows, cols], labels, best_threshold(scores.total[v_rows, v_cols], v_labels))
    elif pair_model is None:
        raise BadInputError("Labelled test pairs need a validation file too (--valid): the threshold is chosen there.")
    if pair_model is None:
        return None, by_score
    result = {}
    features = pair_features(scores, left, right, rows, cols)
    if fit_to_valid and valid is not None:
        zero_shot = classification_metrics(pair_model.probability(features), labels, pair_model.threshold)
        pair_model, source, on_valid = fit_to_labels(pair_model, pair_features(scores, left, right, v_rows, v_cols), v_labels)
        result |= {"pair_model_source": "fitted on valid" if source == "fitted" else "default", "threshold_from": "valid",
                   "valid_f1": {name: None if figures is None else round(figures["f1"], 4) for name, figures in on_valid.items()},
                   "zero_shot": {k: zero_shot[k] for k in ("precision", "recall", "f1", "threshold")}}
    result |= classification_metrics(pair_model.probability(features), labels, pair_model.threshold)
    return pair_model, result | ({"hybrid_score": by_score} if valid is not None else {})


def train_matching(left: pd.DataFrame, right: pd.DataFrame, train: pd.DataFrame, valid: pd.DataFrame, out_dir: Path,
                   base_encoder: Encoder, base_model_dir: Path | None, *, test: pd.DataFrame | None = None,
                   gold: pd.DataFrame | None = None, identifiers: tuple[list[str], list[str]] = ([], []),
                   fine_tune: bool = True, config: FinetuneConfig = FinetuneConfig(),
                   device: str = "auto", load_encoder: Callable[[Path], Encoder] | None = None,
                   progress: Callable[[str, int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> dict:
    """Fine-tunes the encoder (optional) and trains the pair model; writes everything to ``out_dir``.

    Args:
        left, right: product tables (see prodsim.catalog.build_products); may be the same table.
        train, valid: labelled pairs (left id, right id, label 0/1); valid picks the epoch,
            calibrates the pair model and sets its threshold.
        base_encoder, base_model_dir: the encoder to start from and its Hugging Face folder
            (None: the encoder cannot be fine-tuned, only the pair model is trained).
        test, gold: optional, only for the before/after figures.
        identifiers: each table's identifier columns (see prodsim.matching.score_tables); the pair model reads their agreement.
        load_encoder: turns a saved encoder folder into an Encoder (the registry's loader).

    Returns:
        The description saved as ``prodsim_model.json``: before/after figures, epochs, seconds.

    Raises:
        BadInputError: pairs with unknown ids, labels other than 0/1, one class, too few matches.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = TextTemplate()
    say = progress or (lambda *_: None)
    say("Scoring pairs with the current model", 0, 1)
    before_scores = score_tables(left, right, base_encoder, template=template, identifiers=identifiers)
    train_positions, valid_positions = pair_positions(before_scores, train), pair_positions(before_scores, valid)
    check_pairs(train_positions, "training pairs")
    check_pairs(valid_positions, "validation pairs")
    before = evaluate_scores(before_scores, left, right, gold, test, valid)

    epochs = []
    encoder, encoder_dir = base_encoder, None
    if fine_tune and base_model_dir is not None:
        epochs = finetune_text_encoder(base_model_dir, template.render(left), template.render(right), train_positions,
                                       valid_positions, before_scores.total, out_dir, config, device, progress, should_stop)
        if (out_dir / "encoder" / "config.json").is_file():
            encoder_dir = out_dir / "encoder"
            encoder = load_encoder(encoder_dir)
    scores = (score_tables(left, right, encoder, template=template, identifiers=identifiers) if encoder is not base_encoder
              else before_scores)

    say("Training the pair model", 0, 1)
    rows, cols, labels = train_positions
    v_rows, v_cols, v_labels = valid_positions
    pair_model = train_pair_model(pair_features(scores, left, right, rows, cols), labels,
                                  pair_features(scores, left, right, v_rows, v_cols), v_labels)
    after = evaluate_scores(scores, left, right, gold, test, valid, pair_model)
    if test is not None:
        _write_predictions(out_dir, before_scores, scores, left, right, test, pair_model)
    description = {
        "created": now_iso(),
        "base_model": base_encoder.fingerprint,
        "encoder": "encoder" if encoder_dir else None,
        "encoder_note": None if encoder_dir else ("fine-tuning did not improve validation AUC; the base encoder is kept"
                                                  if fine_tune and base_model_dir else "not fine-tuned"),
        "data": {"left_rows": len(left), "right_rows": len(right), "train_pairs": len(train), "train_matches": int(labels.sum()),
                 "valid_pairs": len(valid), "test_pairs": None if test is None else len(test)},
        "settings": asdict(config) | {"fine_tune": fine_tune},
        "epochs": [asdict(e) for e in epochs],
        "threshold": pair_model.threshold,
        "before": before,
        "after": after,
        "seconds": round(time.perf_counter() - started, 1),
    }
    pair_model.save(out_dir, {"identifier_columns": {"left": identifiers[0], "right": identifiers[1]}})
    atomic_write_json(out_dir / MODEL_FILE, description)
    return description


def _write_predictions(out_dir: Path, before: MatchScores, after: MatchScores, left: pd.DataFrame, right: pd.DataFrame,
                       test: pd.DataFrame, pair_model: PairModel) -> None:
    """Test pairs with both models' scores, for the precision-recall curve and the worst errors."""
    import io

    rows, cols, labels = pair_positions(after, test)
    table = pd.DataFrame({
        "left_id": left["id"].to_numpy()[rows], "right_id": right["id"].to_numpy()[cols],
        "left_title": left["title"].to_numpy()[rows], "right_title": right["title"].to_numpy()[cols], "label": labels,
        "before_score": before.total[rows, cols],
        "after_probability": pair_model.probability(pair_features(after, left, right, rows, cols)),
    })
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    atomic_write_bytes(out_dir / PREDICTIONS_FILE, buffer.getvalue().encode())


@contextmanager
def staged_model_dir(out: Path):
    """Yields a staging folder beside ``out`` that replaces ``out`` only when the block ends normally.

    Bad input, a cancel or a crash removes the staging folder, so ``out`` never holds a half-trained model.
    """
    out = Path(out)
    staging = out.with_name(out.name + ".training")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)


def read_description(model_dir: Path) -> dict:
    """The ``prodsim_model.json`` of a trained model folder."""
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise BadInputError(f"{model_dir} is not a prodsim model folder (no {MODEL_FILE}); train one with `python -m prodsim finetune`.")
    return json.loads(path.read_text())


__all__ = ["MODEL_FILE", "PREDICTIONS_FILE", "staged_model_dir", "FinetuneConfig", "PairModel", "evaluate_scores", "read_description", "train_matching"]
