"""Category tree: load your own tree, file every product into a leaf, walk the tree, review, move, export paths.

Built for large catalogs and trees: the tree is walked one node at a time (a node's children, never every
leaf), products are drawn only for the node that is open, leaves and products to move are found by typed
words, and what is derived from the whole catalog is cached per filing and decisions version.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import grouping_view, product_cards, team, ui
from prodsim import api
from prodsim.display import literal

ui.ensure_app_shell()

SAMPLE = 8
ROWS_PER_PAGE = 10
NODE_KEY = "tree_node"  # the open node's path ("" for the top)

view = grouping_view.grouping_page("Category tree")
workspace, products, store = view.workspace, view.products, view.store
seen = {"seen": view.seen}


@st.cache_data(max_entries=4, show_spinner=False)
def assignment_of(_workspace: api.Workspace, version: tuple, decisions: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(each product's leaf now, every node's counts), once per filing file and decisions step."""
    tree, filing = api.category_tree(_workspace), api.stored_filing(_workspace)
    if tree is None or filing is None:
        return None
    assignment = api.tree_assignment(_workspace, tree, filing)
    return assignment, api.tree_overview(tree, assignment)


def filing_version() -> tuple:
    path = workspace.path / "tree" / "filing.parquet"
    return (str(workspace.path), path.stat().st_mtime_ns if path.exists() else 0, workspace.products_version())


def start_filing() -> None:
    specs = api.filing_encoder_specs(workspace)
    device, precision = ui.runtime_choice()
    encoders = [ui.text_encoder(spec, device, precision) for spec in specs]
    vectors = view.vectors

    def work(progress, should_stop):
        filing = api.file_into_tree(workspace, encoders, vectors, progress=progress, should_stop=should_stop)
        return {"filed": int((~filing.reviewed).sum())}
    ui.start_workspace_job(workspace, f"Filing the products of '{workspace.name}' into the tree", work)


def tree_upload(tree) -> None:
    with st.expander("Load a category tree" if tree is None else "Replace the tree", expanded=tree is None):
        st.caption("A text or CSV file with one path per line, e.g. `Home > Kitchen > Kettles` (any depth, any language; "
                   "'>', '»', '|' or '/' between levels). Loading another tree keeps every decision.")
        upload = st.file_uploader("Tree file", type=["txt", "csv", "tsv"], key="tree_upload")
        if upload is not None and st.button("Load this tree", key="tree_load", type="primary", disabled=not team.allowed("reviewer")):
            loaded = ui.show_errors(api.load_tree, workspace, upload.getvalue(), upload.name)
            if loaded:
                st.session_state[NODE_KEY] = ""
                st.success(f"Loaded {loaded['leaves']:,} leaf categories on {loaded['depth']} levels."
                           + (f" {len(loaded['skipped'])} lines were left out (listed below)." if loaded["skipped"] else ""))
                st.rerun()


def node_rows(overview: pd.DataFrame, node: str) -> None:
    """The open node's children, each with its counts, Open and Accept."""
    children = overview[overview["parent"] == node].sort_values("products", ascending=False)
    trail = node.split(" > ") if node else []
    ui.breadcrumbs(NODE_KEY, [(name, " > ".join(trail[:level + 1])) for level, name in enumerate(trail)])
    start = (st.number_input(f"Page (of {-(-len(children) // ROWS_PER_PAGE):,})", 1, max(1, -(-len(children) // ROWS_PER_PAGE)), 1,
                             key=f"tree_page_{node}") - 1) * ROWS_PER_PAGE if len(children) > ROWS_PER_PAGE else 0
    for child in children.iloc[start:start + ROWS_PER_PAGE].itertuples():
        line = st.columns([4, 3, 1, 1])
        line[0].markdown(f"**{literal(child.name)}**")
        line[1].caption(f"{child.products:,} products · {child.reviewed:,} reviewed · {child.weak:,} doubtful"
                        + (f" · confidence {child.confidence:.0%}" if child.products else ""))
        line[2].button("Open", key=f"tree_open_{child.node}", disabled=child.leaf and not child.products,
                       on_click=st.session_state.__setitem__, args=(NODE_KEY, child.node))
        team.decision_button(line[3], "Accept", f"tree_accept_{child.node}", "reviewer", api.accept_tree_node, workspace,
                             tree, assignment, child.node, disabled=child.products == child.reviewed,
                             help="Accepts every product filed under it that nobody reviewed, each in its own leaf (one undo).",
                             done=f"Accepted '{child.node}'.", **seen)


def node_products(node: str) -> None:
    rows = api.rows_under(tree, assignment, node)
    if not len(rows):
        return
    ranked = assignment.iloc[rows].sort_values("confidence")
    st.caption(f"{len(rows):,} products under '{literal(node)}'; the least confident first.")
    table = products.iloc[ranked["row"].to_numpy()[:SAMPLE]].assign(score=ranked["confidence"].to_numpy()[:SAMPLE])
    product_cards.card_grid(workspace, table, key=f"tree_cards_{node}", score_column="score", score_label="confidence")


def move_form(tree) -> None:
    st.subheader("Move products to another leaf")
    query = st.text_input("Find products", key="tree_move_find", placeholder="words of the titles, a brand or an id")
    found = api.find_products(products, query, limit=api.PICKER_LIMIT) if query.strip() else []
    st.multiselect("Products", list(found), key="tree_move_products",
                   format_func=lambda r: f"{products['title'][r][:60]} · {assignment['path'][r]}")
    leaf_query = st.text_input("Find the leaf", key="tree_move_leaf_find", placeholder="e.g. kettles")
    st.selectbox("To the leaf", api.find_leaves(tree, leaf_query) if leaf_query.strip() else [], key="tree_move_leaf",
                 index=None, placeholder="type words of the leaf above")
    team.decision_button(st, "Move", "tree_move", "reviewer", store.move,
                         team.Widget("tree_move_products", lambda rows: products["id"][rows].tolist()), team.Widget("tree_move_leaf"),
                         disabled=not (st.session_state.get("tree_move_products") and st.session_state.get("tree_move_leaf")),
                         done="Moved to '{args[1]}'.", **seen)


def doubtful() -> None:
    weak = assignment[(assignment["source"] == "filed") & (assignment["confidence"] < api.WEAK_CONFIDENCE)].sort_values("confidence")
    if weak.empty:
        st.info("Every product prodsim filed is above the confidence bar, or reviewed.")
        return
    st.caption(f"{len(weak):,} products whose best leaf is weak (below {api.WEAK_CONFIDENCE:.0%}), the weakest first. "
               "Confirm the leaf, or move the product below; each reviewed product teaches its leaf.")
    pages = -(-len(weak) // ROWS_PER_PAGE)
    page = st.number_input(f"Page (of {pages:,})", 1, pages, 1, key="tree_doubtful_page") if pages > 1 else 1
    for item in weak.iloc[(page - 1) * ROWS_PER_PAGE: page * ROWS_PER_PAGE].itertuples():
        line = st.columns([3, 3, 1])
        line[0].text(f"{item.title} · {item.id}")
        line[1].markdown(f"→ {literal(item.path)} ({item.confidence:.0%})")
        team.decision_button(line[2], "Confirm", f"tree_confirm_{item.id}", "reviewer", store.move, [item.id], item.path, **seen)


tree = api.category_tree(workspace)
tree_upload(tree)
if tree is None:
    st.info("Load your category tree to file every product into one of its leaves; prodsim reads the names of the "
            "paths (no labelled products needed) and learns from every product you review.")
    st.stop()
meta = api.tree_details(workspace)
st.caption(f"Tree '{literal(meta.get('source', ''))}': {len(tree.paths):,} leaves · "
           + " · ".join(f"{count:,} at level {level[6:]}" for level, count in tree.level_counts().items()))
if tree.skipped:
    with st.expander(f"{len(tree.skipped)} lines of the file were left out"):
        st.text("\n".join(tree.skipped))
if ui.job_panel(workspace):
    st.stop()
derived = assignment_of(workspace, filing_version(), view.seen)
files = st.columns([2, 3])
team.decision_button(files[0], "File products into the tree" if derived is None else "File again with the reviewed products",
                     "tree_file", "reviewer", start_filing, type="primary" if derived is None else "secondary",
                     help="Scores every product against the leaves' names, then learns from the catalog and your reviews.")
if derived is None:
    st.stop()
assignment, overview = derived
reviewed = int((assignment["source"] != "filed").sum())
files[1].caption(f"{len(assignment):,} products filed · {reviewed:,} reviewed · "
                 f"{int(overview.loc[overview['level'] == 1, 'weak'].sum()):,} doubtful")


def walk() -> None:
    node = st.session_state.setdefault(NODE_KEY, "")
    node_rows(overview, node)
    if node:
        node_products(node)
    move_form(tree)


def export() -> None:
    st.write("Each product's path, one column per level, the confidence and whether a person reviewed it.")
    ui.export_buttons(api.tree_export(tree, assignment), f"{workspace.slug}-category-tree", key="tree_export")


SECTIONS = {"Tree": walk, "Doubtful": doubtful, "Export": export}
for tab, draw in zip(st.tabs(list(SECTIONS), key="tree_section", on_change="rerun"), SECTIONS.values()):
    if tab.open:  # only the open section runs
        with tab:
            draw()
