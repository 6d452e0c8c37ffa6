"""Demand hints for products with little or no sales: what their most similar products sold after launch.

Each product's sales are aligned on weeks since its first sale in the log. A new product's
first ``HORIZON_WEEKS`` weeks are estimated from its ``NEIGHBOURS`` most similar products whose
launch weeks are complete: the similarity-weighted median of their totals, with the weighted
20th-80th percentiles as the range. A median rather than a mean because launch sales are
heavy-tailed: one best-seller among the neighbours must not set the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from prodsim.insights.behaviour import product_rows

HORIZON_WEEKS = 8
NEIGHBOURS = 10
SHARPNESS = 4  # weights are similarity**SHARPNESS: the closest products count most
RANGE = (0.2, 0.8)


def launch_curves(events: pd.DataFrame, products: pd.DataFrame, weeks: int = HORIZON_WEEKS) -> pd.DataFrame:
    """Per product with sales: first sale, net units (returns subtracted) in each of its first ``weeks`` weeks, their total, and
    ``complete`` (the log covers all those weeks). Indexed by catalog row."""
    rows = product_rows(events, products)
    sales = events.assign(row=rows)[rows >= 0]
    first = sales[sales["quantity"] > 0].groupby("row")["timestamp"].min()
    sales = sales[sales["row"].isin(first.index)]
    week = ((sales["timestamp"] - sales["row"].map(first)).dt.days // 7).to_numpy()
    launch = (week >= 0) & (week < weeks)  # returns of sales made before the log began fall before week 0
    early = sales[launch].assign(week=week[launch])
    curves = early.pivot_table(index="row", columns="week", values="quantity", aggfunc="sum", fill_value=0.0)
    curves = curves.reindex(columns=range(weeks), fill_value=0.0)
    curves.columns = [f"week_{w + 1}" for w in range(weeks)]
    curves = curves.reindex(first.index, fill_value=0.0)
    end = events["timestamp"].max()
    curves = curves.clip(lower=0)  # a week where returns outweigh sales sold nothing
    return curves.assign(total=curves.sum(axis=1), first_sale=first,
                         complete=first + pd.Timedelta(weeks=weeks) <= end + pd.Timedelta(days=1))


@dataclass
class DemandHint:
    """Estimated units in the first weeks after launch, with a range and the products it comes from."""

    estimate: float
    low: float
    high: float
    neighbours: pd.DataFrame  # row, similarity, weight, total, week_1..week_n


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][min(np.searchsorted(cumulative, q), len(values) - 1)])


def demand_hint(vector: np.ndarray, reference_vectors: np.ndarray, references: pd.DataFrame, k: int = NEIGHBOURS) -> DemandHint:
    """Hint for one product from the references (rows of :func:`launch_curves`, complete ones)."""
    similarity = reference_vectors @ vector
    top = np.argsort(-similarity, kind="stable")[:k]
    weights = np.maximum(similarity[top], 1e-3) ** SHARPNESS
    totals = references["total"].to_numpy(dtype=float)[top]
    table = references.iloc[top].assign(similarity=similarity[top], weight=weights / weights.sum())
    return DemandHint(_weighted_quantile(totals, weights, 0.5), _weighted_quantile(totals, weights, RANGE[0]),
                      _weighted_quantile(totals, weights, RANGE[1]), table.reset_index(names="row"))


def evaluate(events: pd.DataFrame, products: pd.DataFrame, vectors: np.ndarray, start: str = "2011-03-01",
             end: str = "2011-09-30", weeks: int = HORIZON_WEEKS, k: int = NEIGHBOURS, groups: np.ndarray | None = None,
             limit: int | None = None) -> dict:
    """Predicts the first ``weeks`` weeks of products first sold between ``start`` and ``end``.

    Each new product is predicted only from products whose first ``weeks`` weeks had ended before
    its own first sale (what a planner would know on launch day). Baselines from the same
    products: the median new product, and (with ``groups``, e.g. clusters) the mean of its group.
    With ``limit``, at most that many launches are predicted, spread evenly over the launch dates.

    Returns:
        {"similarity": {"wape", "mae"}, "naive": {...}, ["group_mean": {...}], "products", "weeks", "in_range"}.
    """
    curves = launch_curves(events, products, weeks)
    first = curves["first_sale"]
    new = curves[(first >= pd.Timestamp(start)) & (first <= pd.Timestamp(end) + pd.Timedelta(days=1)) & curves["complete"]]
    launches = len(new)
    if limit is not None and launches > limit:
        new = new.sort_values("first_sale", kind="stable").iloc[np.linspace(0, launches - 1, limit).astype(int)]
    known_by = curves["first_sale"] + pd.Timedelta(weeks=weeks)
    truth, predictions = new["total"].to_numpy(dtype=float), {"similarity": [], "naive": []}
    if groups is not None:
        predictions["group_mean"] = []
    inside = []
    for row, launch in new["first_sale"].items():
        references = curves[(known_by <= launch) & curves["complete"]]
        hint = demand_hint(vectors[row], vectors[references.index.to_numpy()], references, k)
        predictions["similarity"].append(hint.estimate)
        predictions["naive"].append(float(references["total"].median()))
        inside.append(hint.low <= curves.at[row, "total"] <= hint.high)
        if groups is not None:
            same = references[groups[references.index.to_numpy()] == groups[row]]["total"]
            predictions["group_mean"].append(float(same.mean()) if len(same) else float(references["total"].mean()))
    result = {name: {"wape": round(float(np.abs(truth - np.array(p)).sum() / truth.sum()), 4),
                     "mae": round(float(np.abs(truth - np.array(p)).mean()), 2)} for name, p in predictions.items()}
    return result | {"products": len(new), "launches": launches, "weeks": weeks, "in_range": round(float(np.mean(inside)), 3),
                     "first_sold": [start, end]}


MIN_BACKTEST_PRODUCTS = 20
BACKTEST_LAUNCHES = 1_000  # enough for a WAPE to two decimals; a log with 100k launches would otherwise take minutes


def backtest(events: pd.DataFrame, products: pd.DataFrame, vectors: np.ndarray, weeks: int = HORIZON_WEEKS) -> dict | None:
    """:func:`evaluate` on the log's own launches: products first sold after its first ``weeks`` weeks and
    early enough that their first ``weeks`` weeks are in it. None when fewer than MIN_BACKTEST_PRODUCTS qualify.

    This is what a page may say about how good the hints are for *this* log.
    """
    if events.empty:
        return None
    first, last = events["timestamp"].min(), events["timestamp"].max()
    start, end = first + pd.Timedelta(weeks=weeks), last - pd.Timedelta(weeks=weeks)
    if start >= end:
        return None
    result = evaluate(events, products, vectors, str(start.date()), str(end.date()), weeks, limit=BACKTEST_LAUNCHES)
    return result if result["products"] >= MIN_BACKTEST_PRODUCTS else None
