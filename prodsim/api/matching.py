"""Matching two shops' tables: evaluation against labelled pairs, and training a matching model on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prodsim.catalog import read_table
from prodsim.encoders.registry import load_text_encoder
from prodsim.errors import BadInputError


def read_match_tables(left: str | Path, right: str | Path, id_col: str | None, identifier_cols: list[str] | None = None):
    """Both tables as products, and each one's identifier columns (those given, else guessed per table).

    A given column may be in one table only: its values are still found in the other table's titles.

    Raises:
        BadInputError: a given identifier column that neither table has.
    """
    from prodsim.catalog import build_products
    from prodsim.ingest import resolve_mapping, resolve_roles

    raws = [read_table(path) for path in (left, right)]
    if identifier_cols is not None:
        missing = [c for c in identifier_cols if not any(c in raw.frame.columns for raw in raws)]
        if missing:
            raise BadInputError(f"Neither table has a column named '{missing[0]}' to use as an identifier. Columns are: "
                                + "; ".join(f"{raw.source_name}: {', '.join(raw.frame.columns)}" for raw in raws) + ".")
    tables, identifiers = [], []
    for raw in raws:
        mapping = resolve_mapping(raw, {"id": id_col})
        given = None if identifier_cols is None else [c for c in identifier_cols if c in raw.frame.columns]
        tables.append(build_products(raw, mapping)[0])
        identifiers.append(resolve_roles(raw, mapping, given).identifiers)
    return tables, tuple(identifiers)


PAIR_COLUMNS = {"gold": ("left id", "right id"), "pairs": ("left id", "right id", "label (0 or 1)")}


def read_pairs(**paths) -> dict:
    """Pair files in any table format, each checked for the columns it needs (gold: two ids; labelled: and a label)."""
    read = {}
    for name, path in paths.items():
        if path is None:
            read[name] = None
            continue
        frame = read_table(path).frame
        needed = PAIR_COLUMNS["gold" if name == "gold" else "pairs"]
        if frame.shape[1] < len(needed):
            raise BadInputError(f"{Path(path).name} has {frame.shape[1]} column{'s' if frame.shape[1] != 1 else ''}; as the "
                                f"{name} file it needs {len(needed)}: {', '.join(needed)}, in that order.")
        read[name] = frame
    return read


def match(left: str | Path, right: str | Path, *, gold: str | Path | None = None, pairs: str | Path | None = None,
          valid: str | Path | None = None, id_col: str | None = None, text_model: str | None = None,
          device: str = "auto", precision: str = "auto", identifier_cols: list[str] | None = None) -> dict:
    """Evaluates matching between two catalog files.

    Args:
        left, right: catalog files; columns are mapped as on upload (title/name, brand/manufacturer, ...).
        gold: true pairs (left id, right id) for recall@k and MRR; each left product's 10 best candidates by the
            hybrid score are ranked by the pair model (the default, or the trained one), and ``hybrid_score`` keeps
            the hybrid score's own figures.
        pairs, valid: labelled pairs (left id, right id, 0/1) for F1 on ``pairs``, classified by a pair model:
            the one in a folder written by :func:`finetune` at its own threshold, else the default one shipped with
            prodsim (trained on public benchmark pairs). With ``valid``, the default is fitted to those pairs (its
            threshold chosen there, or an MLP cross-fitted on them when that does better there; ``pair_model_source``
            says which, ``zero_shot`` keeps the default's figures at its own threshold), and the hybrid score's F1
            at the threshold chosen on ``valid`` is added as ``hybrid_score``.
        id_col: the id column of both tables, when the guess is wrong.
        identifier_cols: columns holding GTIN/EAN/UPC, MPN or model numbers, each in one table or both (values of
            one table's column are also found in the other's titles); None guesses them per table from names and
            values, [] uses none.
        text_model: text model name or folder (default MiniLM-L6), or a folder written by
            :func:`finetune` (its encoder and pair model are used).
    """
    import time

    from prodsim.matching import score_tables
    from prodsim.training import MODEL_FILE, PairModel, evaluate_scores

    started = time.perf_counter()
    if gold is None and pairs is None:
        raise BadInputError("Nothing to evaluate: give a gold file of true pairs, or labelled pairs with a validation file.")
    (left_table, right_table), identifiers = read_match_tables(left, right, id_col, identifier_cols)
    read = read_pairs(gold=gold, pairs=pairs, valid=valid)
    pair_model, pair_model_source = PairModel.default(two_tables=True), "default"
    if text_model is not None and (Path(text_model) / MODEL_FILE).is_file():  # a folder written by finetune
        pair_model, pair_model_source = PairModel.load(Path(text_model)), "trained"
        if pair_model is None:
            raise BadInputError(f"The pair model in {text_model} was saved by an older prodsim (other features) or is not a "
                                "model; train it again with `python -m prodsim finetune`. Nothing in it was run.")
        tuned = Path(text_model) / "encoder"
        text_model = str(tuned) if tuned.is_dir() else None  # no encoder folder: fine-tuning kept the default
    encoder = load_text_encoder(text_model, device, precision)
    scores = score_tables(left_table, right_table, encoder, identifiers=identifiers)
    result = {"left_rows": len(left_table), "right_rows": len(right_table),
              "identifier_columns": {"left": identifiers[0], "right": identifiers[1]},
              "text_model": encoder.fingerprint, "pair_model": True, "pair_model_source": pair_model_source}
    result |= evaluate_scores(scores, left_table, right_table, read["gold"], read["pairs"], read["valid"], pair_model,
                              fit_to_valid=pair_model_source == "default")
    return result | {"seconds": round(time.perf_counter() - started, 2)}


def finetune(left: str | Path, right: str | Path, train: str | Path, valid: str | Path, out: str | Path, *,
             test: str | Path | None = None, gold: str | Path | None = None, id_col: str | None = None,
             text_model: str | None = None, fine_tune: bool = True, epochs: int | None = None, device: str = "auto",
             progress: Callable[[str, int, int], None] | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """Trains a matching model on labelled pairs of two catalog files (see :func:`prodsim.training.train_matching`).

    The model is written to a staging folder and renamed to ``out`` only when training ends,
    so ``out`` never holds a half-trained model.
    """
    from prodsim.training import FinetuneConfig, staged_model_dir, train_matching

    (left_table, right_table), identifiers = read_match_tables(left, right, id_col)
    read = read_pairs(train=train, valid=valid, test=test, gold=gold)
    encoder = load_text_encoder(text_model, device)
    config = FinetuneConfig(epochs=epochs) if epochs else FinetuneConfig()
    with staged_model_dir(out) as staging:
        description = train_matching(left_table, right_table, read["train"], read["valid"], staging, encoder,
                                     getattr(encoder, "path", None), test=read["test"], gold=read["gold"], identifiers=identifiers,
                                     fine_tune=fine_tune,
                                     config=config, device=device, load_encoder=lambda folder: load_text_encoder(str(folder), device),
                                     progress=progress, should_stop=should_stop)
    return description | {"out": str(out)}
