"""Sales and prices per group of products, and the assortment gaps they show.

Price bands are the catalog's price quartiles, so "budget" means the cheapest quarter of this
catalog, whatever its currency. A group with no product in a band that its neighbours cover,
or with very few products, is a candidate gap in the assortment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodsim.insights.behaviour import product_rows

PRICE_BANDS = ("budget", "mid", "upper", "premium")
FEW_PRODUCTS = 5


def product_sales(events: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Net units (returns subtracted) and revenue (units x catalog price) per catalog row."""
    rows = product_rows(events, products)
    units = pd.Series(events["quantity"].to_numpy(), index=rows)[rows >= 0].groupby(level=0).sum()
    units = units.reindex(range(len(products)), fill_value=0.0)
    return pd.DataFrame({"units": units.to_numpy(), "revenue": units.to_numpy() * products["price"].fillna(0).to_numpy()})


def price_bands(prices: pd.Series) -> pd.Series:
    """Each product's band among the catalog's price quartiles ("" when the price is unknown)."""
    known = prices.dropna()
    if known.nunique() < len(PRICE_BANDS):
        return pd.Series("", index=prices.index)
    bands = pd.qcut(known.rank(method="first"), len(PRICE_BANDS), labels=PRICE_BANDS).astype(str)
    return bands.reindex(prices.index, fill_value="")


def group_overview(products: pd.DataFrame, groups: pd.Series, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group: products, price range and band counts, units and revenue (with a log), and gaps.

    Args:
        groups: the group name of each product (same index as ``products``).
        events: an optional behaviour log (see prodsim.insights.behaviour).
    """
    bands = price_bands(products["price"])
    frame = pd.DataFrame({"group": groups.to_numpy(), "price": products["price"].to_numpy(), "band": bands.to_numpy()})
    if events is not None:
        frame = frame.join(product_sales(events, products))
    summary = frame.groupby("group").agg(products=("group", "size"), median_price=("price", "median"),
                                         low_price=("price", lambda p: p.quantile(0.1)), high_price=("price", lambda p: p.quantile(0.9)))
    counts = pd.crosstab(frame["group"], frame["band"]).reindex(columns=list(PRICE_BANDS), fill_value=0)
    summary = summary.join(counts.reindex(summary.index, fill_value=0))
    if events is not None:
        summary = summary.join(frame.groupby("group")[["units", "revenue"]].sum())
        summary["revenue_share"] = summary["revenue"] / max(summary["revenue"].sum(), 1e-9)
    has_prices = bool((bands != "").any())
    summary["gaps"] = [_gaps(row, has_prices) for _, row in summary.iterrows()]
    order = "revenue" if events is not None else "products"
    return summary.sort_values(order, ascending=False).reset_index()


def _gaps(row: pd.Series, has_prices: bool) -> str:
    said = []
    if row["products"] < FEW_PRODUCTS:
        said.append(f"only {int(row['products'])} products")
    if has_prices:
        empty = [band for band in PRICE_BANDS if row[band] == 0]
        if empty and len(empty) < len(PRICE_BANDS):
            said.append("no " + "/".join(empty) + " products")
    if "units" in row and row["units"] <= 0 and row["products"] >= FEW_PRODUCTS:
        said.append("no sales")
    return "; ".join(said)


def has_overlay(products: pd.DataFrame, events: pd.DataFrame | None) -> bool:
    """Whether there is anything to overlay: prices or a behaviour log."""
    return events is not None or bool(np.isfinite(products["price"].to_numpy(dtype=float)).any())
