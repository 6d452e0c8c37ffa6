"""Behaviour logs against a catalog: reading and keeping them, recommendations and demand hints, and their evaluation."""

from __future__ import annotations

from pathlib import Path

from prodsim.api.products import product_matrix
from prodsim.catalog import read_table
from prodsim.errors import BadInputError
from prodsim.insights.behaviour import load_log as behaviour_log
from prodsim.neighbours import ProductSimilarity
from prodsim.workspace import Workspace


def read_behaviour(workspace: Workspace, source, name: str | None = None, mapping: dict | None = None):
    """Reads a behaviour log against the workspace's catalog without keeping it: (events, report).

    Args:
        mapping: log field -> column; fields left out are guessed from the column names.
    """
    from prodsim.insights.behaviour import guess_log_mapping, read_log

    raw = read_table(source, name)
    chosen = guess_log_mapping(raw.frame) | {k: v for k, v in (mapping or {}).items() if v}
    return read_log(raw, chosen, workspace.products())


def attach_behaviour(workspace: Workspace, source, name: str | None = None, mapping: dict | None = None):
    """Reads a behaviour log and keeps it in the workspace (replacing the earlier one); returns its report.

    Raises:
        BadInputError: see :func:`prodsim.insights.behaviour.read_log`; nothing is written then.
    """
    from prodsim.insights.behaviour import save_log

    events, log_report = read_behaviour(workspace, source, name, mapping)
    save_log(workspace, events, log_report, name or Path(str(source)).name)
    return log_report


def _events(workspace: Workspace, log, mapping: dict | None):
    if log is not None:
        return read_behaviour(workspace, log, mapping=mapping)[0]
    stored = behaviour_log(workspace)
    if stored is None:
        raise BadInputError("This workspace has no behaviour log: give one with --log or upload it on the Insights page.")
    return stored[0]


def recommend_eval(workspace: Workspace, log=None, *, k: int = 10, content_weight: float | None = None,
                   mapping: dict | None = None) -> dict:
    """Hit-rate@k and recall@k of popularity, co-occurrence, content and the blend, last order held out.

    Args:
        log: a behaviour log file (default: the workspace's attached log).
    """
    from prodsim.insights import recommend

    weight = recommend.DEFAULT_CONTENT_WEIGHT if content_weight is None else content_weight
    return recommend.evaluate(_events(workspace, log, mapping), workspace.products(), product_matrix(workspace), k, weight)


def behaviour_models(workspace: Workspace, similarity_model: ProductSimilarity):
    """What the Insights page uses from the attached log: (events, recommender, launch curves, orders per buyer,
    demand backtest on this log or None)."""
    from prodsim.insights import demand, recommend

    events, _ = behaviour_log(workspace)
    products, matrix = similarity_model.products, similarity_model.fusion.matrix()
    buyers = events[events["quantity"] > 0].groupby("user")["order"].nunique().drop("", errors="ignore")
    return (events, recommend.Recommender.fit(events, products, matrix), demand.launch_curves(events, products),
            buyers.sort_values(ascending=False), demand.backtest(events, products, matrix))


def backtest_sentence(backtest: dict | None) -> str:
    """What a page may say about how good demand hints are on this log (see prodsim.insights.demand.backtest)."""
    if backtest is None:
        return "This log has too few launches with 8 complete weeks to measure how close such hints come."
    ours, naive = backtest["similarity"]["wape"], backtest["naive"]["wape"]
    change = (naive - ours) / naive if naive else 0.0
    verdict = f"{change:.0%} less error than" if change > 0 else f"{-change:.0%} more error than"
    share = "" if backtest["products"] == backtest["launches"] else f"{backtest['products']:,} of "
    return (f"Measured on {share}this log's own {backtest['launches']:,} launches ({backtest['first_sold'][0]} to "
            f"{backtest['first_sold'][1]}): {verdict} assuming the median new product (WAPE {ours:.2f} vs {naive:.2f}).")


def demand_eval(workspace: Workspace, log=None, *, start: str = "2011-03-01", end: str = "2011-09-30", weeks: int = 8,
                mapping: dict | None = None) -> dict:
    """WAPE of launch-week estimates from similar products vs the median new product (and the category mean)."""
    from prodsim.insights import demand

    products = workspace.products()
    groups = products["category"].to_numpy() if (products["category"] != "").mean() > 0.5 else None
    return demand.evaluate(_events(workspace, log, mapping), products, product_matrix(workspace), start, end, weeks, groups=groups)
