"""A model number kept in its own column: what `match` gets from it, on a stand-in built from Abt-Buy.

Usage: python bench/identifier_columns.py
The held-out shop pair of issue 20 keeps model numbers in a `modelno` column beside titles that may lack them.
Abt-Buy writes them into the names, so the stand-in moves the last code-like token of each name (``KDL-40V4100``)
out of the name and description into a `modelno` column, on both sides. Four runs of ``python -m prodsim match``
with the benchmark's gold pairs and test/valid splits: the original tables, the stripped tables without the
column, the stripped tables with it (guessed as an identifier by its name), and Abt's stripped table with the
column against Buy's original (its model numbers only in the names). Also printed: how many gold pairs
share a model-number key, and how many carry different ones (crude extraction, and real variants such as
FS726TP / FS726TPNA), which the score counts as a conflict.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import DATASETS, machine, report

from prodsim import api
from prodsim.identifiers import identifier_keys
from prodsim.lexical import model_codes

ABT_BUY = DATASETS / "abt-buy"
FIGURES = ("recall_at_1", "mrr", "precision", "recall", "f1")


def move_model_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each name's last code-like token taken out of name and description into `modelno`."""
    def last_code(name: str) -> str:
        codes = [token for token in str(name).split() if model_codes(token)]
        return codes[-1] if codes else ""

    def without(text, token: str) -> str:
        return " ".join(word for word in str(text).split() if word != token) if token and isinstance(text, str) else text

    moved = table.assign(modelno=table["name"].map(last_code))
    moved["name"] = [without(n, t) for n, t in zip(moved["name"], moved["modelno"])]
    moved["description"] = [without(d, t) for d, t in zip(moved["description"], moved["modelno"])]
    return moved


def key_agreement(left: pd.DataFrame, right: pd.DataFrame, gold: pd.DataFrame) -> dict:
    """Gold pairs whose model numbers share a key, carry different keys, or lack one on a side."""
    keys = {side: dict(zip(t["id"].astype(str), (set(identifier_keys(v)[0]) for v in t["modelno"])))
            for side, t in (("left", left), ("right", right))}
    pairs = [(keys["left"].get(str(a), set()), keys["right"].get(str(b), set())) for a, b in gold.itertuples(index=False)]
    return {"gold_pairs": len(pairs), "same": sum(bool(a & b) for a, b in pairs),
            "different": sum(bool(a and b and not a & b) for a, b in pairs),
            "missing": sum(not (a and b) for a, b in pairs)}


def main() -> None:
    tables = {side: pd.read_csv(ABT_BUY / f"table{side}.csv", dtype=str) for side in "AB"}
    gold = pd.read_csv(ABT_BUY / "gold.csv", dtype=str)
    moved = {side: move_model_numbers(t) for side, t in tables.items()}
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        variants = {"original": tables, "stripped_no_column": {s: t.drop(columns=["modelno"]) for s, t in moved.items()},
                    "stripped_with_modelno_column": moved,
                    "modelno_column_on_abt_only": {"A": moved["A"], "B": tables["B"]}}
        for name, pair in variants.items():
            paths = {}
            for side, table in pair.items():
                paths[side] = Path(scratch) / f"{name}_{side}.csv"
                table.to_csv(paths[side], index=False)
            result = api.match(paths["A"], paths["B"], gold=ABT_BUY / "gold.csv", pairs=ABT_BUY / "test.csv",
                               valid=ABT_BUY / "valid.csv")
            runs[name] = {"identifier_columns": result["identifier_columns"],
                          **{k: round(float(result[k]), 3) for k in FIGURES},
                          "pair_model_source": result["pair_model_source"], "zero_shot_f1": round(float(result["zero_shot"]["f1"]), 3),
                          **{f"hybrid_score_{k}": round(float(result["hybrid_score"][k]), 3) for k in ("recall_at_1", "mrr", "f1")}}
            print(name, runs[name], flush=True)
    report({"bench": "identifier_columns", "machine": machine("cpu"), "runs": runs,
            "gold_model_numbers": key_agreement(moved["A"], moved["B"], gold),
            "products_without_a_code_in_the_name": {s: int(np.sum(t["modelno"] == "")) for s, t in moved.items()}})


if __name__ == "__main__":
    main()
