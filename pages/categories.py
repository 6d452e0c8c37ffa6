"""Categories: review suggested groupings; accept, rename, merge, split, move, reject, undo; export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import ui
from prodsim import api

ui.ensure_app_shell()

SAMPLE = 8

view = ui.grouping_page("Categories")
workspace, products, clusters, store, suggested, final = (view.workspace, view.products, view.clusters, view.store,
                                                         view.suggested, view.final)
reviewed = set(store.assignments()["product_id"])
read_only = ui.read_only()


def act(function, *args) -> None:
    """Runs a decision, then redraws (errors are shown instead)."""
    if ui.show_errors(function, *args) is not None:
        st.rerun()


def split_form(name: str, rows, column, key: str) -> None:
    """A parts count and a Split button: re-clusters the group's products and files each part under its own name."""
    if len(rows) < 4:
        return
    parts = column.number_input("Parts", 2, min(8, len(rows)), 2, key=f"{key}_parts", label_visibility="collapsed")
    if column.button(f"Split into {parts}", key=key, disabled=read_only, help="Groups the products again, inside this group only."):
        act(api.split_group, store, name, products, view.vectors, rows, int(parts))


top = st.columns([2, 1, 1])
top[0].caption(f"{len(clusters.names):,} suggested groups · {len(reviewed):,} of {len(products):,} products reviewed · "
               f"{clusters.outlier_share:.0%} were hard to place and sit in their nearest group (marked low confidence).")
if top[1].button("Undo", key="categories_undo", disabled=read_only):
    st.toast(f"Undone: {store.undo() or 'nothing to undo'}")
    st.rerun()
if top[2].button("Redo", key="categories_redo", disabled=read_only):
    st.toast(f"Redone: {store.redo() or 'nothing to redo'}")
    st.rerun()

suggestions_tab, reviewed_tab, misfiled_tab, sales_tab, export_tab = st.tabs(
    ["Suggested groups", "Reviewed categories", "Misfiled?", "Sales and prices", "History and export"])
with suggestions_tab:
    summary = clusters.summary(products, view.vectors)
    for cluster in summary.itertuples():
        members = products.index[(clusters.labels == cluster.cluster) & ~products["id"].isin(reviewed)]
        if len(members) == 0:
            continue
        with st.expander(f"{cluster.name} — {len(members):,} products (tightness {cluster.cohesion:.2f})"):
            ui.card_grid(workspace, products.iloc[members[:SAMPLE]], key=f"categories_sample_{cluster.cluster}", score_column=None)
            name = st.text_input("Name", value=cluster.name, key=f"categories_name_{cluster.cluster}")
            accept, split, reject = st.columns([2, 2, 1])
            if accept.button(f"Accept {len(members):,} products as '{name}'", key=f"categories_accept_{cluster.cluster}",
                             type="primary", disabled=read_only):
                act(store.accept, name, products["id"][members].tolist())
            split_form(name, members.to_numpy(), split, f"categories_split_{cluster.cluster}")
            if reject.button("Reject this grouping", key=f"categories_reject_{cluster.cluster}", disabled=read_only):
                act(store.reject, cluster.name, products["id"][members].tolist())

with reviewed_tab:
    groups = store.groups().query("status == 'accepted'")
    if groups.empty:
        st.info("No category reviewed yet: accept a suggested group, or select products on the Map and assign them.")
    for group in groups.itertuples():
        with st.expander(f"{group.name} — {group.size:,} products"):
            new_name = st.text_input("Rename to", value=group.name, key=f"categories_rename_text_{group.group_id}")
            if st.button("Rename", key=f"categories_rename_{group.group_id}", disabled=read_only or new_name == group.name):
                act(store.rename, group.group_id, new_name)
            others = groups[groups["group_id"] != group.group_id]
            if not others.empty:
                target = st.selectbox("Merge into", others["group_id"].tolist(), key=f"categories_merge_target_{group.group_id}",
                                      format_func=dict(zip(others["group_id"], others["name"])).get)
                if st.button("Merge", key=f"categories_merge_{group.group_id}", disabled=read_only):
                    act(store.merge, group.group_id, target)
            assigned = store.assignments()
            members = products.index[products["id"].isin(assigned.loc[assigned["group_id"] == group.group_id, "product_id"])]
            split_form(group.name, members.to_numpy(), st, f"categories_split_reviewed_{group.group_id}")
    st.subheader("Move products")
    wanted = st.multiselect("Products", products.index.tolist(), key="categories_move_products",
                            format_func=lambda r: f"{products['title'][r][:60]} · {products['id'][r]}")
    target_name = st.text_input("To the category", key="categories_move_target", placeholder="new or existing name")
    if st.button("Move", key="categories_move", disabled=read_only or not wanted):
        act(store.move, products["id"][wanted].tolist(), target_name)

with misfiled_tab:
    if not (products["category"] != "").any():
        st.info("This catalog has no category column, so there is nothing to check against.")
    else:
        figures = api.clustering_agreement(clusters.labels, products["category"])
        if figures:
            st.caption(f"Agreement of the suggested groups with the catalog's categories: NMI {figures['nmi']:.2f}, ARI {figures['ari']:.2f}.")
            st.dataframe(pd.crosstab(suggested.rename("suggested group"), products["category"].rename("category")),
                         key="categories_crosstab")
        candidates = api.misfiled_products(view.vectors, products["category"]).head(30)
        st.write(f"{len(candidates):,} products whose most similar products mostly carry another category:")
        for item in candidates.itertuples():
            product = products.iloc[item.row]
            line = st.columns([3, 2, 1])
            line[0].markdown(f"**{product['title']}** · {product['id']}")
            line[1].markdown(f"{item.category} → **{item.suggested}** ({item.confidence:.0%} of its neighbours)")
            if line[2].button("Move", key=f"categories_misfiled_{item.row}", disabled=read_only):
                act(store.move, [product["id"]], item.suggested)

with sales_tab:
    behaviour = ui.behaviour(workspace)
    events = behaviour[0] if behaviour else None
    if not api.has_overlay(products, events):
        st.info("This catalog has no prices and no behaviour log: attach a log on the Insights page to see sales per category.")
    else:
        st.caption("Each category after review with its price band counts (the catalog's price quartiles)"
                   + (", units and revenue from the behaviour log" if events is not None else "")
                   + ". Gaps: few products, an empty price band, or no sales.")
        st.dataframe(api.group_overview(products, final["final_category"], events), hide_index=True, width="stretch",
                     key="categories_sales")

with export_tab:
    st.dataframe(store.log(), hide_index=True, width="stretch", key="categories_log")
    st.write("Final categories: each product's id, category after review, and whether it was suggested, reviewed or moved.")
    ui.export_buttons(final, f"{workspace.slug}-categories", key="categories_export")
    st.subheader("Share")
    ui.report_button(workspace, view.vectors, key="categories_report")
