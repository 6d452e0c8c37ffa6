"""Categories: review suggested groupings; accept, rename, merge, split, move, reject, undo; export.

Built for catalogs of any size: only the open section runs, groups come a page at a time with
a search over group names and products, a group's products are drawn only when it is opened,
and products to move are found by typed words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pages import team, ui
from prodsim import api
from prodsim.display import literal

ui.ensure_app_shell()

SAMPLE = 8  # product cards shown per opened group
GROUPS_PER_PAGE = 10

view = ui.grouping_page("Categories")
workspace, products, clusters, store, suggested, final = (view.workspace, view.products, view.clusters, view.store,
                                                         view.suggested, view.final)
reviewed_mask = (final["source"] != "suggested").to_numpy()
seen = {"seen": view.seen}  # every decision carries the step this page was drawn at


def split_form(name: str, rows, column, key: str) -> None:
    """A parts count and a Split button: re-clusters the group's products and files each part under its own name."""
    if len(rows) < 4:
        return
    parts = column.number_input("Parts", 2, min(8, len(rows)), 2, key=f"{key}_parts", label_visibility="collapsed")
    team.decision_button(column, f"Split into {parts}", key, "reviewer", api.split_group, store, name, products, view.vectors, rows,
                         team.Widget(f"{key}_parts", int), help="Groups the products again, inside this group only.", **seen)


def page_of(items: list, key: str) -> list:
    """One page of ``items`` with a page picker when there is more than one page."""
    pages = max(1, -(-len(items) // GROUPS_PER_PAGE))
    page = st.number_input(f"Page (of {pages:,})", 1, pages, 1, key=key) if pages > 1 else 1
    return items[(page - 1) * GROUPS_PER_PAGE: page * GROUPS_PER_PAGE]


def matching_rows(key: str, placeholder: str) -> np.ndarray | None:
    """Rows of the products matching a typed search (None when nothing is typed)."""
    query = st.text_input("Find a group or a product", key=key, placeholder=placeholder)
    return api.find_products(products, query, limit=len(products)) if query.strip() else None


@st.cache_resource(show_spinner=False, max_entries=4)
def tree_names(_view, state: str, filed_at: str | None) -> dict[int, str]:
    """Suggested group -> the path of the user's tree most of its products were filed under, once per filing."""
    filing = api.stored_filing(_view.workspace) if filed_at else None
    return {} if filing is None else api.tree_group_names(_view.clusters.labels, filing["path"])


def suggested_groups() -> None:
    summary = ui.group_summary(view, view.state)
    by_tree = tree_names(view, view.state, api.tree_details(workspace).get("filed"))
    open_counts = np.bincount(clusters.labels[~reviewed_mask], minlength=int(clusters.labels.max()) + 1)
    summary = summary[open_counts[summary["cluster"]] > 0]
    found = matching_rows("categories_find", "e.g. kettle, or a group's name")
    if found is not None:
        query = st.session_state["categories_find"].lower()
        hit = set(clusters.labels[found[~reviewed_mask[found]]].tolist())
        summary = summary[summary["cluster"].isin(hit) | summary["name"].str.lower().str.contains(query, regex=False)]
    st.caption(f"{len(summary):,} groups to review" + (" match" if found is not None else "") + ", largest first.")
    for position, cluster in enumerate(page_of(list(summary.itertuples()), "categories_suggested_page")):
        members = np.flatnonzero((clusters.labels == cluster.cluster) & ~reviewed_mask)
        tree_name = by_tree.get(cluster.cluster)  # named by the user's tree, its distinctive words as a subtitle
        label = (f"{literal(tree_name)} · _{literal(cluster.name)}_" if tree_name else literal(cluster.name)) + \
            f" — {len(members):,} products (tightness {cluster.cohesion:.2f})"
        group = st.expander(label, expanded=position == 0, key=f"categories_group_{cluster.cluster}", on_change="rerun")
        if not group.open:
            continue  # products are drawn only for opened groups
        with group:
            ui.card_grid(workspace, products.iloc[members[:SAMPLE]], key=f"categories_sample_{cluster.cluster}", score_column=None)
            name = st.text_input("Name", value=tree_name or cluster.name, key=f"categories_name_{cluster.cluster}")
            accept, split, reject = st.columns([2, 2, 1])
            ids = products["id"].to_numpy()[members].tolist()
            team.decision_button(accept, f"Accept {len(members):,} products as '{literal(name)}'", f"categories_accept_{cluster.cluster}",
                                 "reviewer", store.accept, team.Widget(f"categories_name_{cluster.cluster}"), ids, type="primary", **seen)
            split_form(name, members, split, f"categories_split_{cluster.cluster}")
            sub_groups(cluster.cluster, members)
            team.decision_button(reject, "Reject this grouping", f"categories_reject_{cluster.cluster}", "reviewer",
                                 store.reject, cluster.name, ids, **seen)


def sub_groups(cluster: int, members: np.ndarray) -> None:
    """The group's suggested sub-groups (the level below) and an Accept that files each product under
    "group name > sub-group name" (one decision)."""
    levels = ui.suggested_levels(view, view.state)
    if levels.depth < 2:
        return
    parts = pd.Series(levels.labels[1][members]).map(levels.names[1])
    counts = parts.value_counts()
    if len(counts) < 2:
        return
    st.caption(f"{len(counts)} sub-groups: " + " · ".join(f"{literal(part)} ({count:,})" for part, count in counts.items()))
    name_key = f"categories_name_{cluster}"
    ids = products["id"].to_numpy()[members]
    team.decision_button(st, f"Accept with its {len(counts)} sub-groups", f"categories_accept_levels_{cluster}", "reviewer",
                         api.accept_with_sub_groups, store, team.Widget(name_key), dict(zip(ids, parts)),
                         help="Files each product under 'name > sub-group'; rename or merge the sub-groups afterwards.", **seen)


def reviewed_categories() -> None:
    groups = store.groups().query("status == 'accepted'")
    if groups.empty:
        st.info("No category reviewed yet: accept a suggested group, or select products on the Map and assign them.")
    assigned = store.assignments()
    row_of = pd.Series(np.arange(len(products)), index=products["id"])
    for group in page_of(list(groups.itertuples()), "categories_reviewed_page"):
        section = st.expander(f"{literal(group.name)} — {group.size:,} products", key=f"categories_reviewed_{group.group_id}", on_change="rerun")
        if not section.open:
            continue
        with section:
            new_name = st.text_input("Rename to", value=group.name, key=f"categories_rename_text_{group.group_id}")
            team.decision_button(st, "Rename", f"categories_rename_{group.group_id}", "reviewer", store.rename, group.group_id,
                                 team.Widget(f"categories_rename_text_{group.group_id}"), disabled=new_name == group.name, **seen)
            others = groups[groups["group_id"] != group.group_id]
            if not others.empty:
                st.selectbox("Merge into", others["group_id"].tolist(), key=f"categories_merge_target_{group.group_id}",
                             format_func=dict(zip(others["group_id"], others["name"])).get)
                team.decision_button(st, "Merge", f"categories_merge_{group.group_id}", "reviewer", store.merge, group.group_id,
                                     team.Widget(f"categories_merge_target_{group.group_id}"), **seen)
            ids = assigned.loc[assigned["group_id"] == group.group_id, "product_id"]
            members = row_of.reindex(ids).dropna().astype(int).to_numpy()
            split_form(group.name, np.sort(members), st, f"categories_split_reviewed_{group.group_id}")
    st.subheader("Move products")
    found = matching_rows("categories_move_find", "type words of the products' titles, a brand or an id")
    options = [] if found is None else found[:api.PICKER_LIMIT].tolist()
    if found is not None and len(found) > api.PICKER_LIMIT:
        st.caption(f"{len(found):,} products match; the first {api.PICKER_LIMIT:,} are offered. Type more words to narrow it.")
    wanted = st.multiselect("Products", options, key="categories_move_products",
                            format_func=lambda r: f"{products['title'][r][:60]} · {products['id'][r]}")
    st.text_input("To the category", key="categories_move_target", placeholder="new or existing name")
    team.decision_button(st, "Move", "categories_move", "reviewer", store.move,
                         team.Widget("categories_move_products", lambda rows: products["id"][rows].tolist()),
                         team.Widget("categories_move_target"), disabled=not wanted, **seen)


def misfiled_products() -> None:
    if not (products["category"] != "").any():
        st.info("This catalog has no category column, so there is nothing to check against.")
        return
    figures = api.clustering_agreement(clusters.labels, products["category"])
    if figures:
        st.caption(f"Agreement of the suggested groups with the catalog's categories: NMI {figures['nmi']:.2f}, ARI {figures['ari']:.2f}.")
        st.dataframe(pd.crosstab(suggested.rename("suggested group"), products["category"].rename("category")),
                     key="categories_crosstab")
    candidates = ui.misfiled(view, view.state)
    st.write(f"{len(candidates):,} products whose most similar products mostly carry another category; the surest first:")
    for item in candidates.head(30).itertuples():
        product = products.iloc[item.row]
        line = st.columns([3, 2, 1])
        line[0].text(f"{product['title']} · {product['id']}")
        line[1].markdown(f"{literal(item.category)} → **{literal(item.suggested)}** ({item.confidence:.0%} of its neighbours)")
        team.decision_button(line[2], "Move", f"categories_misfiled_{item.row}", "reviewer", store.move, [product["id"]],
                             item.suggested, **seen)


def sales_and_prices() -> None:
    behaviour = ui.behaviour(workspace)
    events = behaviour[0] if behaviour else None
    if not api.has_overlay(products, events):
        st.info("This catalog has no prices and no behaviour log: attach a log on the Insights page to see sales per category.")
        return
    st.caption("Each category after review with its price band counts (the catalog's price quartiles)"
               + (", units and revenue from the behaviour log" if events is not None else "")
               + ". Gaps: few products, an empty price band, or no sales.")
    st.dataframe(api.group_overview(products, final["final_category"], events), hide_index=True, width="stretch",
                 key="categories_sales")


def new_arrivals() -> None:
    queue = ui.arrivals(view, view.state, view.seen)
    if queue.empty:
        st.info("No new product waits for a category. When next week's file is uploaded into this workspace (Catalog page), "
                "new products that look like reviewed ones are filed automatically; the doubtful ones wait here.")
        return
    st.caption(f"{len(queue):,} new product{'s' if len(queue) != 1 else ''} the last upload could not file with confidence, "
               "least confident first, each "
               "with prodsim's suggestion and the reviewed products nearest to it. Move a product elsewhere under "
               "Reviewed categories.")
    for item in page_of(queue.to_dict("records"), "categories_arrivals_page"):
        line = st.columns([3, 3, 1])
        line[0].text(f"{item['title']} · {item['id']}")
        line[1].markdown(f"→ **{literal(item['suggested'])}** ({item['confidence']:.0%} of the votes), like "
                         + "; ".join(literal(title) for title in item["like"]))
        team.decision_button(line[2], "File", f"categories_arrival_{item['id']}", "reviewer", store.move, [item["id"]],
                             item["suggested"], **seen)


def history_and_export() -> None:
    st.dataframe(store.log(), hide_index=True, width="stretch", key="categories_log")
    st.write("Final categories: each product's id, category after review, and whether it was suggested, reviewed or moved.")
    ui.export_buttons(final, f"{workspace.slug}-categories", key="categories_export")
    st.subheader("Share")
    ui.report_button(workspace, view.vectors, key="categories_report")


top = st.columns([2, 1, 1])
top[0].caption(f"{len(clusters.names):,} suggested groups · {int(reviewed_mask.sum()):,} of {len(products):,} products reviewed · "
               f"{clusters.outlier_share:.0%} were hard to place and sit in their nearest group (marked low confidence).")
team.decision_button(top[1], "Undo my last decision", "categories_undo", "reviewer", store.undo, done="Undone: {result}",
                     help="Undoes your own latest decision; a colleague's stay.")
team.decision_button(top[2], "Redo", "categories_redo", "reviewer", store.redo, done="Redone: {result}")

SECTIONS = {"Suggested groups": suggested_groups, "Reviewed categories": reviewed_categories, "New arrivals": new_arrivals,
            "Misfiled?": misfiled_products,
            "Sales and prices": sales_and_prices, "History and export": history_and_export}
for tab, draw in zip(st.tabs(list(SECTIONS), key="categories_section", on_change="rerun"), SECTIONS.values()):
    if tab.open:  # only the open section runs
        with tab:
            draw()
