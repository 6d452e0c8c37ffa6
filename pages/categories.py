"""Categories: review suggested groupings; accept, rename, merge, split, move, reject, undo; export.

Built for catalogs of any size: only the open section runs, groups come a page at a time with
a search over group names and products, a group's products are drawn only when it is opened,
and products to move are found by typed words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pages import grouping_view, product_cards, team, ui
from prodsim import api
from prodsim.display import literal

ui.ensure_app_shell()

SAMPLE = 8  # product cards shown per opened group
GROUPS_PER_PAGE = 10

view = grouping_view.grouping_page("Categories")
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


LEVEL_KEY = "categories_level"  # (state, level, group): the suggested group whose sub-groups are listed; unset: the top


def open_level() -> tuple[int, int] | None:
    """(level, group) whose sub-groups are listed, None at the top (or when the groups were found anew since)."""
    at = st.session_state.get(LEVEL_KEY)
    return (at[1], at[2]) if at and at[0] == view.state else None


@st.cache_resource(show_spinner=False, max_entries=2)
def export_table(_final: pd.DataFrame, state: str, decisions: int) -> pd.DataFrame:
    """The export (final categories with a column per level), once per state and version of the decisions."""
    return api.categories_export(_final)


def suggested_groups() -> None:
    by_tree = tree_names(view, view.state, api.tree_details(workspace).get("filed"))
    at = open_level()
    if at is None:
        top_groups(by_tree)
        return
    level, group = at
    levels = grouping_view.suggested_levels(view, view.state)
    trail = api.level_trail(levels, level, group)
    top = trail[0][0]
    trail[0] = (top, by_tree.get(top, trail[0][1]))  # level 1 named by the user's tree, as on the first page
    ui.breadcrumbs(LEVEL_KEY, [(name, (view.state, depth + 1, node)) for depth, (node, name) in enumerate(trail)],
                   top=("All groups", None))
    path = api.SEPARATOR.join(name for _, name in trail)
    children = api.level_children(levels, level, api.level_rows(levels, level, group, ~reviewed_mask))
    st.caption(f"{len(children):,} sub-groups of '{literal(path)}' with products to review, largest first.")
    for position, child in enumerate(page_of(list(children.itertuples()), f"categories_level_page_{level}_{group}")):
        members = api.level_rows(levels, level + 1, child.group, ~reviewed_mask)
        group_panel(level + 1, child.group, literal(child.name), members, f"{path}{api.SEPARATOR}{child.name}", position == 0)


def top_groups(by_tree: dict[int, str]) -> None:
    summary = grouping_view.group_summary(view, view.state)
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
        label = f"{literal(tree_name)} · _{literal(cluster.name)}_" if tree_name else literal(cluster.name)
        group_panel(1, cluster.cluster, label, members, tree_name or cluster.name, position == 0,
                    note=f" (tightness {cluster.cohesion:.2f})")


def group_panel(level: int, group: int, label: str, members: np.ndarray, default_name: str, expanded: bool,
                note: str = "") -> None:
    """One suggested group at any level: its products, a name (its path below level 1), Accept, Split, Reject, and
    its sub-groups (accept them all under it, or open them to review one by one)."""
    key = str(group) if level == 1 else f"{level}_{group}"
    panel = st.expander(f"{label} — {len(members):,} products{note}", expanded=expanded, key=f"categories_group_{key}", on_change="rerun")
    if not panel.open:
        return  # products are drawn only for opened groups
    with panel:
        product_cards.card_grid(workspace, products.iloc[members[:SAMPLE]], key=f"categories_sample_{key}", score_column=None)
        name = st.text_input("Name", value=default_name, key=f"categories_name_{key}")
        accept, split, reject = st.columns([2, 2, 1])
        ids = products["id"].to_numpy()[members].tolist()
        team.decision_button(accept, f"Accept {len(members):,} products as '{literal(name)}'", f"categories_accept_{key}",
                             "reviewer", store.accept, team.Widget(f"categories_name_{key}"), ids, type="primary", **seen)
        split_form(name, members, split, f"categories_split_{key}")
        sub_groups(level, group, key, members)
        team.decision_button(reject, "Reject this grouping", f"categories_reject_{key}", "reviewer",
                             store.reject, default_name, ids, **seen)


def sub_groups(level: int, group: int, key: str, members: np.ndarray) -> None:
    """The group's sub-groups (the level below): an Accept that files each product under "name > sub-group > …"
    down to the deepest level (one decision), and Open to review them one by one."""
    levels = grouping_view.suggested_levels(view, view.state)
    children = api.level_children(levels, level, members)
    if len(children) < 2:
        return
    st.caption(f"{len(children)} sub-groups: " + " · ".join(f"{literal(c.name)} ({c.products:,})" for c in children.head(12).itertuples())
               + (" · …" if len(children) > 12 else ""))
    accept, open_them = st.columns(2)
    ids = products["id"].to_numpy()[members]
    team.decision_button(accept, f"Accept with its {len(children)} sub-groups", f"categories_accept_levels_{key}", "reviewer",
                         api.accept_with_sub_groups, store, team.Widget(f"categories_name_{key}"),
                         dict(zip(ids, api.sub_paths(levels, level, members))),
                         help="Files each product under 'name > sub-group' at every level below; products already reviewed "
                              "keep their category. Rename or merge the sub-groups afterwards.", **seen)
    open_them.button(f"Open its {len(children)} sub-groups", key=f"categories_open_{key}", on_click=st.session_state.__setitem__,
                     args=(LEVEL_KEY, (view.state, level, group)), help="Review the sub-groups one by one.")


REVIEWED_KEY = "categories_reviewed_at"  # the reviewed category whose categories below it are listed; "" the top


def reviewed_categories() -> None:
    groups = store.groups()
    if not (groups["status"] == "accepted").any():
        st.info("No category reviewed yet: accept a suggested group, or select products on the Map and assign them.")
    parent = st.session_state.get(REVIEWED_KEY, "")
    nodes = api.reviewed_nodes(groups, parent)
    if parent and nodes.empty:  # renamed or merged away since: back to the top
        parent, nodes = "", api.reviewed_nodes(groups)
    if parent:
        trail = parent.split(api.SEPARATOR)
        ui.breadcrumbs(REVIEWED_KEY, [(name, api.SEPARATOR.join(trail[:depth + 1])) for depth, name in enumerate(trail)],
                       top=("All categories", ""))
    paths = api.reviewed_paths(groups)
    assigned = store.assignments()
    row_of = pd.Series(np.arange(len(products)), index=products["id"])
    for node in page_of(list(nodes.itertuples()), f"categories_reviewed_page_{parent}"):
        below = f" in {categories(node.below)} below it" if node.below else ""
        section = st.expander(f"{literal(node.name)} — {node.products:,} products{below}", key=f"categories_reviewed_{node.path}",
                              on_change="rerun")
        if not section.open:
            continue
        with section:
            reviewed_node(node, groups, paths, assigned, row_of)
    move_products()


def reviewed_node(node, groups: pd.DataFrame, paths: list[str], assigned: pd.DataFrame, row_of: pd.Series) -> None:
    """Rename, merge, open or split one reviewed category at any level (what is below it goes with it)."""
    key = node.path
    new_name = st.text_input("Rename to", value=node.path, key=f"categories_rename_text_{key}",
                             help="The whole path: 'Home > Kitchen' moves this category under Home.")
    team.decision_button(st, "Rename", f"categories_rename_{key}", "reviewer", store.rename_path, node.path,
                         team.Widget(f"categories_rename_text_{key}"), disabled=new_name == node.path, **seen)
    targets = [p for p in paths if p != node.path and not p.startswith(node.path + api.SEPARATOR)]
    if len(targets) > api.PICKER_LIMIT:
        typed = st.text_input("Find the category to merge into", key=f"categories_merge_find_{key}").lower()
        targets = [p for p in targets if typed in p.lower()][:api.PICKER_LIMIT]
    if targets:
        st.selectbox("Merge into", targets, key=f"categories_merge_target_{key}")
        team.decision_button(st, "Merge", f"categories_merge_{key}", "reviewer", store.rename_path, node.path,
                             team.Widget(f"categories_merge_target_{key}"),
                             help="Its products, and the categories below it, join the chosen category (one undo).", **seen)
    if node.below:
        st.button(f"Open the {categories(node.below)} below", key=f"categories_reviewed_open_{key}",
                  on_click=st.session_state.__setitem__, args=(REVIEWED_KEY, node.path))
    else:
        members = row_of.reindex(api.node_product_ids(groups, assigned, node.path)).dropna().astype(int).to_numpy()
        split_form(node.path, np.sort(members), st, f"categories_split_reviewed_{key}")


def categories(count: int) -> str:
    return f"{count:,} categor{'y' if count == 1 else 'ies'}"


def move_products() -> None:
    st.subheader("Move products")
    found = matching_rows("categories_move_find", "type words of the products' titles, a brand or an id")
    options = [] if found is None else found[:api.PICKER_LIMIT].tolist()
    if found is not None and len(found) > api.PICKER_LIMIT:
        st.caption(f"{len(found):,} products match; the first {api.PICKER_LIMIT:,} are offered. Type more words to narrow it.")
    wanted = st.multiselect("Products", options, key="categories_move_products",
                            format_func=lambda r: f"{products['title'][r][:60]} · {products['id'][r]}")
    st.text_input("To the category", key="categories_move_target", placeholder="new or existing name; 'A > B' for a level below")
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
    candidates = grouping_view.misfiled(view, view.state)
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
    queue = grouping_view.arrivals(view, view.state, view.seen)
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
    st.write("Final categories: each product's id, category after review (its whole path, then one column per level), "
             "and whether it was suggested, reviewed or moved.")
    ui.export_buttons(export_table(final, view.state, view.seen), f"{workspace.slug}-categories", key="categories_export")
    st.subheader("Share")
    grouping_view.report_button(workspace, view.vectors, key="categories_report")


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
