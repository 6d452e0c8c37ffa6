"""Recommendations and demand hints on UCI Online Retail (a quarter of its customers), and bad behaviour logs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import DATASETS, tree_digest
from prodsim import api, cli
from prodsim.errors import BadInputError

RETAIL = DATASETS / "online-retail"


@pytest.fixture(scope="module")
def retail(tmp_path_factory, text_encoder):
    """Online Retail's 3,922 stock codes in a workspace, and the invoices of customers whose id is a multiple of 4."""
    folder = tmp_path_factory.mktemp("retail")
    workspace = api.ingest(RETAIL / "products.csv", workspace_dir=folder / "workspace").workspace
    api.embed(workspace, text_encoder)
    lines = pd.read_csv(RETAIL / "transactions.csv.gz", dtype=str, keep_default_na=False)
    customer = pd.to_numeric(lines["CustomerID"], errors="coerce")
    log = folder / "quarter.csv.gz"
    lines[customer % 4 == 0].to_csv(log, index=False)
    return workspace, log


def run_cli(*argv) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


@pytest.mark.datasets
def test_recommend_eval_blend_beats_popularity_and_each_similarity(retail):
    workspace, log = retail
    result = run_cli("recommend-eval", "--workspace", str(workspace.path), "--log", str(log), "--k", "10")
    print(result)
    assert result["users"] > 500 and result["k"] == 10
    blend = result["blend"]
    for method in ("popularity", "cooccurrence", "content"):
        assert blend["hit_rate"] > result[method]["hit_rate"], method
        assert blend["recall"] > result[method]["recall"], method
    assert result["cooccurrence"]["hit_rate"] > result["popularity"]["hit_rate"]


@pytest.mark.datasets
def test_demand_eval_similar_products_beat_the_median_new_product(retail):
    workspace, log = retail
    result = run_cli("demand-eval", "--workspace", str(workspace.path), "--log", str(log))
    print(result)
    assert result["products"] > 500 and result["weeks"] == 8
    assert result["similarity"]["wape"] < result["naive"]["wape"] - 0.05


@pytest.mark.datasets
def test_demand_backtest_is_measured_on_the_log_itself(retail):
    from prodsim.insights.demand import MIN_BACKTEST_PRODUCTS, backtest

    workspace, log = retail
    events, _ = api.read_behaviour(workspace, log)
    result = backtest(events, workspace.products(), api.product_matrix(workspace))
    assert result["products"] >= MIN_BACKTEST_PRODUCTS
    assert events["timestamp"].min() < pd.Timestamp(result["first_sold"][0]) < pd.Timestamp(result["first_sold"][1]) < events["timestamp"].max()
    assert result["similarity"]["wape"] < result["naive"]["wape"]
    sentence = api.backtest_sentence(result)
    assert f"this log's own {result['launches']:,} launches" in sentence and "less error" in sentence
    assert backtest(events.head(50), workspace.products(), api.product_matrix(workspace)) is None  # too short to measure


@pytest.mark.datasets
def test_log_report_counts_returns_service_codes_and_unknown_ids(retail):
    workspace, log = retail
    report = api.attach_behaviour(workspace, log, name=log.name)
    said = " ".join(report.messages())
    assert report.returns > 0 and "returns" in said
    assert report.service_rows > 0 and "POST" in report.service_examples
    assert report.used + report.dropped() == report.rows  # every row accounted for, once
    events, saved = api.behaviour_log(workspace)
    assert len(events) == report.used and saved["returns"] == report.returns
    assert (events.loc[events["quantity"] < 0, "event"] == "return").all()


@pytest.mark.datasets
def test_recommendations_come_with_the_history_item_they_follow(retail):
    from prodsim.insights.recommend import Recommender, user_history

    workspace, log = retail
    events, _ = api.read_behaviour(workspace, log)
    products = workspace.products()
    user = events.loc[events["quantity"] > 0, "user"].value_counts().index[5]
    history = user_history(events, products, user)
    recommendations = Recommender.fit(events, products, api.product_matrix(workspace)).recommend(history, k=10)
    assert len(recommendations) == 10
    assert not set(recommendations["row"]) & set(history["row"])
    explained = recommendations[recommendations["because"] >= 0]
    assert len(explained) == 10 and set(explained["because"]) <= set(history["row"])
    assert set(recommendations["source"]) <= {"similar product", "bought together"}


@pytest.mark.parametrize("log, message", [
    ("user,product,time\n1,DEMO-0001,yesterday-ish\n2,DEMO-0002,soon\n", "read as dates"),
    ("user,product,time\n,DEMO-0001,2024-01-02\n,DEMO-0002,2024-01-03\n", "empty in every row"),
    ("user,product,time\n1,X-1,2024-01-02\n2,X-2,2024-01-03\n", "None of the product ids"),
    ("customer,time\n1,2024-01-02\n", "product"),
])
def test_bad_logs_are_refused_and_nothing_is_written(demo_workspace, log, message):
    before = tree_digest(demo_workspace.path)
    with pytest.raises(BadInputError, match=message):
        api.attach_behaviour(demo_workspace, log.encode(), name="log.csv")
    assert tree_digest(demo_workspace.path) == before


def test_every_dropped_or_changed_row_is_counted_and_said(demo_workspace):
    log = ("user,product,time,qty\n1,DEMO-0001,2024-01-02,2\n2,DEMO-0002,2024-01-02,0\n3,DEMO-0003,2024-01-02,lots\n"
           "4,DEMO-0004,2024-01-02,inf\n5,DEMO-0005,2024-01-02,\n6,DEMO-0006,2024-01-02,\"1,200\"\n7,DEMO-0007,never,1\n"
           "8,NOPE-1,2024-01-02,1\n" + "".join(f"9,DEMO-001{i},2024-01-03,1\n" for i in range(3)))
    events, report = api.read_behaviour(demo_workspace, log.encode(), name="log.csv")
    assert report.rows == 11 and report.used == 6 and report.used + report.dropped() == report.rows
    assert (report.zero_quantity, report.bad_quantities, report.bad_timestamps, report.unknown_products) == (1, 2, 1, 1)
    assert sorted(report.bad_quantity_examples) == ["inf", "lots"] and report.no_quantity == 1
    quantities = events.set_index("product")["quantity"].to_dict()
    assert {k: quantities[k] for k in ("DEMO-0001", "DEMO-0005", "DEMO-0006")} == {"DEMO-0001": 2.0, "DEMO-0005": 1.0, "DEMO-0006": 1200.0}
    said = " ".join(report.messages())
    assert "1 rows have a quantity of 0" in said and "'lots'" in said and "1 rows have no quantity; each counts as one unit" in said


def test_returns_are_said_and_subtracted_from_launch_sales(demo_workspace):
    from prodsim.insights.demand import launch_curves

    log = ("user,product,time,qty\n1,DEMO-0001,2024-01-02,5\n1,DEMO-0001,2024-01-03,-2\n2,DEMO-0001,2024-01-20,1\n"
           "2,DEMO-0002,2024-01-20,1\n3,UNKNOWN-9,2024-01-21,1\n")
    report = api.attach_behaviour(demo_workspace, log.encode(), name="log.csv")
    assert report.returns == 1 and report.unknown_products == 1 and report.used == 4
    assert any("negative quantities" in line for line in report.messages())
    events, _ = api.behaviour_log(demo_workspace)
    curves = launch_curves(events, demo_workspace.products(), weeks=4)
    row = int(np.flatnonzero(demo_workspace.products()["id"] == "DEMO-0001")[0])
    assert curves.at[row, "total"] == 4 and curves.at[row, "week_1"] == 3 and curves.at[row, "week_3"] == 1


def test_sales_per_group_add_up_and_name_gaps(demo_workspace):
    from conftest import REPO

    api.attach_behaviour(demo_workspace, REPO / "assets" / "demo_behaviour.csv")
    events, _ = api.behaviour_log(demo_workspace)
    products = demo_workspace.products()
    overview = api.group_overview(products, products["category"], events)
    assert overview["products"].sum() == len(products)
    assert overview[["budget", "mid", "upper", "premium"]].to_numpy().sum() == products["price"].notna().sum()
    sales = api.product_sales(events, products)
    assert np.isclose(overview["units"].sum(), events["quantity"].sum())
    assert np.isclose(overview["revenue"].sum(), (sales["units"] * products["price"].fillna(0)).sum())
    assert overview["revenue"].is_monotonic_decreasing
    premium_free = overview[overview["premium"] == 0]
    assert premium_free["gaps"].str.contains("premium").all()


def test_item_lists_stay_sparse_and_agree_with_a_dense_oracle():
    """The k best items per row without densifying (a million-product row), and content lists made only for
    the products asked for equal those rows of the full lists."""
    from scipy import sparse

    from prodsim.insights.recommend import _top_k_rows, content_similarity

    rng = np.random.default_rng(0)
    matrix = sparse.random(300, 2_000, density=0.02, random_state=1, format="csr", data_rvs=lambda n: rng.normal(size=n))
    kept = _top_k_rows(matrix, 5).toarray()
    dense = matrix.toarray()
    for row in range(300):
        positive = np.sort(dense[row][dense[row] > 0])[::-1][:5]
        assert np.allclose(np.sort(kept[row][kept[row] > 0])[::-1], positive)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    asked = np.array([3, 77, 499])
    full, part = content_similarity(vectors, k=10), content_similarity(vectors, k=10, rows=asked)
    assert part.nnz == full[asked].nnz and np.allclose(part[asked].toarray(), full[asked].toarray())
    assert part[np.setdiff1d(np.arange(500), asked)].nnz == 0
