"""Insights: a behaviour log turned into recommendations per customer, demand hints for new products, and sales per group."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from pages import grouping_view, product_cards, team, ui
from prodsim import api
from prodsim.display import literal
from prodsim.insights import demand, recommend
from prodsim.insights.behaviour import LOG_FIELDS, guess_log_mapping

ui.ensure_app_shell()

workspace, similarity = ui.similarity_page("Insights")
products = similarity.products
LOG_TYPES = ["csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl", "gz"]


def attach_form(expanded: bool) -> None:
    """Upload a log, check the guessed columns, attach it (a bad log changes nothing)."""
    with st.expander("Upload a behaviour log" if expanded else "Replace the behaviour log", expanded=expanded):
        st.caption("A table of who bought (or viewed) which product when: a user or customer id, a product id that matches "
                   "the catalog's ids, a timestamp; optionally a quantity and an order or invoice number. CSV, Excel, "
                   "Parquet or JSON, also gzip-compressed.")
        upload = st.file_uploader("Behaviour log", type=LOG_TYPES, key="insights_upload", disabled=not team.allowed("admin"), help=team.needs("admin"))
        if upload is None:
            return
        raw = ui.show_errors(ui.read_upload, upload.getvalue(), upload.name)
        if raw is None:
            return
        guessed = guess_log_mapping(raw.frame)
        choices = ["(none)"] + list(raw.frame.columns)
        columns = st.columns(len(LOG_FIELDS))
        mapping = {}
        for column, field in zip(columns, LOG_FIELDS):
            picked = column.selectbox(field, choices, index=choices.index(guessed[field]) if guessed[field] else 0,
                                      key=f"insights_map_{field}")
            mapping[field] = None if picked == "(none)" else picked
        st.dataframe(raw.frame.head(5), hide_index=True, key="insights_preview")
        if st.button("Attach this log", type="primary", key="insights_attach", disabled=not team.allowed("admin"), help=team.needs("admin")):
            with st.spinner("Reading the log…"):
                report = ui.show_errors(api.attach_behaviour, workspace, upload.getvalue(), upload.name, mapping)
            if report is not None:
                st.session_state["insights_attached"] = report.messages()
                st.rerun()


stored = ui.behaviour(workspace)
if stored is None:
    st.info("Attach a behaviour log to see recommendations for each customer, demand hints for new products and sales per group.")
    attach_form(expanded=True)
    st.stop()
for line in st.session_state.pop("insights_attached", []):
    st.warning(line)
_, log_report = stored
text, image = ui.encoders_for(workspace)
events, recommender, curves, buyers, backtest = ui.behaviour_models(workspace, similarity, api.workspace_state(workspace, text, image))
st.caption(f"Log **{literal(log_report['source'])}**: {log_report['used']:,} of {log_report['rows']:,} rows used · {log_report['users']:,} users · "
           f"{log_report['orders']:,} orders · {log_report['products']:,} products · {log_report['first']} to {log_report['last']}.")
with st.expander("What was left out of the log and why"):
    for line in log_report["messages"] or ["Nothing: every row was used."]:
        st.write("• " + line)
attach_form(expanded=False)


def label(row: int) -> str:
    return f"{products['title'].iat[row][:60]} · {products['id'].iat[row]}"


def customers() -> list[str]:
    """The customers offered: those matching a typed id, else the ones with most orders (never every buyer)."""
    typed = st.text_input("Find a customer by id", key="insights_user_find", placeholder="type part of a customer id")
    chosen = buyers.index[buyers.index.astype(str).str.contains(typed.strip(), regex=False)] if typed.strip() else buyers.index
    return chosen[:api.PICKER_LIMIT].tolist()


def recommendations() -> None:
    if buyers.empty:
        st.info("No row of the log names a user, so there is no history to recommend from.")
    else:
        left, right = st.columns([2, 1])
        with left:
            offered = customers()
        user = left.selectbox(f"Customer ({len(buyers):,} with orders; {len(offered):,} offered, most orders first)", offered,
                              key="insights_user", format_func=lambda u: f"{u} · {buyers[u]} orders")
        weight = right.slider("Share of content similarity", 0.0, 1.0, recommend.DEFAULT_CONTENT_WEIGHT, 0.05, key="insights_weight",
                              help="0: only products bought by the same customers; 1: only products that look alike. "
                                   f"The default {recommend.DEFAULT_CONTENT_WEIGHT} was measured best on Online Retail.")
        history = recommend.user_history(events, products, user)
        st.subheader(f"Bought recently ({len(history):,} products)")
        product_cards.card_grid(workspace, products.iloc[history["row"].head(4)].assign(score=None), key="insights_history", score_column=None)
        picks = recommender.recommend(history, k=8, content_weight=weight)
        st.subheader("Recommended")
        for start in range(0, len(picks), 4):
            for column, pick in zip(st.columns(4), picks.iloc[start:start + 4].itertuples()):
                with column:
                    product_cards.product_card(workspace, products.iloc[pick.row], key=f"insights_pick_{pick.row}", score=pick.score)
                    if pick.because >= 0:
                        verb = "looks like" if pick.source == "similar product" else "bought with"
                        st.caption(f"{pick.source.capitalize()}: {verb} **{literal(products['title'][pick.because][:50])}**")
                    else:
                        st.caption("Popular with other customers")


def demand_hints() -> None:
    complete = curves[curves["complete"]]
    newest = curves[~curves["complete"]].sort_values("first_sale", ascending=False).index.to_numpy()
    unsold = np.setdiff1d(np.arange(len(products)), curves.index)
    typed = st.text_input("Find a product never sold", key="insights_new_find", placeholder="e.g. bookcase")
    found = api.find_products(products, typed, among=unsold) if typed.strip() else unsold[:0]
    options = (found.tolist() if typed.strip() else newest[:api.PICKER_LIMIT].tolist() + unsold[:api.PICKER_LIMIT].tolist())
    if complete.empty or (not len(newest) and not len(unsold)):
        st.info("Demand hints need products with at least 8 weeks of sales in the log, and products with fewer.")
    elif not options:
        st.info(literal(f"No product that never sold matches '{typed}'."))
    else:
        row = st.selectbox(f"New product ({len(newest):,} launched in the log's last 8 weeks, {len(unsold):,} never sold; "
                           "type above to find others)", options, key="insights_new_product", format_func=label)
        reference = complete.drop(index=row, errors="ignore")
        matrix = similarity.fusion.matrix()
        hint = demand.demand_hint(matrix[row], matrix[reference.index.to_numpy()], reference)
        info, picture = st.columns([1, 2])
        with info:
            product_cards.product_card(workspace, products.iloc[row], key="insights_new")
            st.metric(f"Units in its first {demand.HORIZON_WEEKS} weeks", f"{hint.estimate:,.0f}",
                      help="Similarity-weighted median of what its most similar products sold in their first weeks.")
            st.caption(f"Likely between **{hint.low:,.0f}** and **{hint.high:,.0f}** units (the similar products' 20th-80th "
                       "percentiles). " + api.backtest_sentence(backtest))
        with picture:
            figure = go.Figure()
            weeks = [f"week_{w + 1}" for w in range(demand.HORIZON_WEEKS)]
            for neighbour in hint.neighbours.itertuples():
                figure.add_trace(go.Scatter(x=list(range(1, len(weeks) + 1)), y=[getattr(neighbour, w) for w in weeks], mode="lines",
                                            name=label(neighbour.row)[:40], opacity=0.35 + 0.65 * neighbour.weight / hint.neighbours["weight"].max()))
            figure.update_layout(height=360, margin={"l": 0, "r": 0, "t": 30, "b": 0}, title="Weekly units of its most similar products after launch",
                                 xaxis_title="week since first sale", yaxis_title="units")
            st.plotly_chart(figure, key="insights_demand_chart")
        table = hint.neighbours.assign(title=lambda t: products["title"].to_numpy()[t["row"]])[["title", "similarity", "weight", "total"]]
        st.dataframe(table.rename(columns={"total": f"units in {demand.HORIZON_WEEKS} weeks"}), hide_index=True, key="insights_demand_table")


def sales_per_group() -> None:
    grouping = grouping_view.grouping_or_guide(workspace)
    if grouping is not None:
        summary = api.group_overview(products, grouping[2].suggested(), events)
        st.caption("Suggested groups with their sales (net of returns, at catalog prices) and price bands (the catalog's price "
                   "quartiles). Gaps: groups with few products, an empty price band or no sales.")
        st.dataframe(summary, hide_index=True, key="insights_groups",
                     column_config={"revenue_share": st.column_config.ProgressColumn("revenue share", format="percent")})


SECTIONS = {"Recommendations": recommendations, "Demand hints for new products": demand_hints, "Sales per group": sales_per_group}
for tab, draw in zip(st.tabs(list(SECTIONS), key="insights_section", on_change="rerun"), SECTIONS.values()):
    if tab.open:  # only the open section runs
        with tab:
            draw()
