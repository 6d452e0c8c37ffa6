"""Full-size transfer learning on Abt-Buy and Amazon-Google: before/after figures and training time.

Usage: python bench/train_matching.py [--benchmarks abt-buy amazon-google] [--out DIR] [--epochs N]
Standard splits: train to train, valid for the epoch, calibration and threshold, test and gold only
for the figures. "before" is the zero-shot default (hybrid score, threshold from valid); "after"
is the fine-tuned encoder plus the pair model, exactly what `python -m prodsim match --model DIR`
computes: its recall@1 ranks each product's best candidates by the trained pair model, and the hybrid score's own
(``hybrid_score_recall_at_1``) is kept beside it. The baseline for the pair model alone is also run (encoder kept).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import DATASETS, machine, peak_rss_mb, report

from prodsim import api


def run(benchmark: str, out: Path, fine_tune: bool, epochs: int | None) -> dict:
    folder = DATASETS / benchmark
    started = time.perf_counter()
    result = api.finetune(folder / "tableA.csv", folder / "tableB.csv", folder / "train.csv", folder / "valid.csv", out,
                          test=folder / "test.csv", gold=folder / "gold.csv", fine_tune=fine_tune, epochs=epochs)
    keep = ("recall_at_1", "recall_at_10", "mrr", "precision", "recall", "f1", "auc", "threshold")
    after_by_score = {f"hybrid_score_{k}": round(result["after"]["hybrid_score"][k], 4) for k in ("recall_at_1", "mrr")}
    return {"before": {k: round(result["before"][k], 4) for k in keep},
            "after": {k: round(result["after"][k], 4) for k in keep} | after_by_score,
            "epochs": result["epochs"], "encoder": result["encoder"] or result["encoder_note"],
            "training_seconds": round(time.perf_counter() - started, 1), "model_dir": str(out)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmarks", nargs="+", default=["abt-buy", "amazon-google"])
    parser.add_argument("--out", type=Path, default=Path("bench/results/models"))
    parser.add_argument("--epochs", type=int)
    args = parser.parse_args()
    results = {}
    for benchmark in args.benchmarks:
        results[benchmark] = {"pair_model_only": run(benchmark, args.out / f"{benchmark}-pair-only", False, None),
                              "fine_tuned": run(benchmark, args.out / benchmark, True, args.epochs)}
        print(benchmark, results[benchmark], flush=True)
    report({"bench": "train_matching", "machine": machine("cpu"), "results": results, "peak_rss_mb": round(peak_rss_mb(), 1)})


if __name__ == "__main__":
    main()
