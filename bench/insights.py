"""Recommendations and demand hints on the whole of UCI Online Retail (541,909 invoice lines).

Usage: python bench/insights.py
The workspace holds the 3,922 stock codes (description + median price) read by the default text
model; the log is the raw transactions file (returns, postage and other charges included: the
reader reports and handles them).

- recommend: each customer with two or more invoices has the last one hidden (test); the
  blend's content weight is chosen on a validation split that hides the second-to-last invoice
  from what remains, so the test invoices never pick it.
- demand: products first sold 2011-03-01..09-30, first 8 weeks of net units predicted from
  products whose first 8 weeks had ended before their launch; baselines: the median new product
  and the mean of its suggested group (HDBSCAN clusters of the same vectors).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import DATASETS, machine, peak_rss_mb, report

from prodsim import api
from prodsim.insights import demand, recommend

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)


def main() -> None:
    retail = DATASETS / "online-retail"
    with tempfile.TemporaryDirectory() as root:
        workspace = api.ingest(retail / "products.csv", workspace_dir=Path(root) / "retail").workspace
        started = time.perf_counter()
        vectors = api.product_matrix(workspace)
        embed_seconds = time.perf_counter() - started
        started = time.perf_counter()
        events, log_report = api.read_behaviour(workspace, retail / "transactions.csv.gz")
        read_seconds = time.perf_counter() - started
        products = workspace.products()

        train, _ = recommend.split_last_order(events)
        validation = {w: recommend.evaluate(train, products, vectors, content_weight=w, methods=("blend",))["blend"] for w in WEIGHTS}
        chosen = max(WEIGHTS, key=lambda w: (validation[w]["hit_rate"], validation[w]["recall"]))
        started = time.perf_counter()
        recommendations = recommend.evaluate(events, products, vectors, content_weight=chosen)
        recommend_seconds = time.perf_counter() - started

        clusters = api.cluster(workspace, vectors=api.grouping_vectors(workspace))[0]
        started = time.perf_counter()
        demand_result = demand.evaluate(events, products, vectors, groups=clusters.labels)
        demand_seconds = time.perf_counter() - started
    report({
        "bench": "insights",
        "machine": machine("cpu"),
        "log": {"rows": log_report.rows, "used": log_report.used, "messages": log_report.messages()},
        "recommend": recommendations,
        "recommend_validation_hit_rate_by_content_weight": {str(w): v["hit_rate"] for w, v in validation.items()},
        "content_weight_chosen_on_validation": chosen,
        "default_content_weight": recommend.DEFAULT_CONTENT_WEIGHT,
        "demand": demand_result,
        "seconds": {"embed_products": round(embed_seconds, 1), "read_log": round(read_seconds, 1),
                    "recommend_eval": round(recommend_seconds, 1), "demand_eval": round(demand_seconds, 1)},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    })


if __name__ == "__main__":
    main()
