"""Review at every level: the suggested groups as a tree to walk, reviewed categories as a tree of paths, and the
export's path and level columns.

A category's name is its whole path ("Home > Kitchen > Kettles"), so a parent is every reviewed group whose name
starts with it, and renaming or merging a parent is one decision over all of them (``ReviewStore.rename_path``).
Nothing here lists every product: a node's children come from counts, its products from one comparison per level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.clustering.hierarchy import SEPARATOR, GroupLevels
from prodsim.errors import BadInputError
from prodsim.exports import XLSX_ROW_LIMIT, csv_bytes, output_file, xlsx_bytes
from prodsim.review import UNASSIGNED, ReviewStore, at_or_below
from prodsim.workspace import Workspace, atomic_write_bytes


def level_rows(levels: GroupLevels, level: int, group: int, open_rows: np.ndarray) -> np.ndarray:
    """Rows of the products of suggested group ``group`` at ``level`` (1-based) among ``open_rows`` (a boolean mask)."""
    return np.flatnonzero((levels.labels[level - 1] == group) & open_rows)


def level_trail(levels: GroupLevels, level: int, group: int) -> list[tuple[int, str]]:
    """The suggested groups from level 1 down to ``group`` at ``level``: (group, name) each."""
    trail = []
    for depth in range(level, 0, -1):
        trail.append((group, levels.names[depth - 1][group]))
        if depth > 1:
            group = int(levels.parents[depth - 1][group])
    return trail[::-1]


def level_children(levels: GroupLevels, level: int, rows: np.ndarray) -> pd.DataFrame:
    """The sub-groups (at ``level`` + 1) that the products at ``rows`` fall into: group, name, products; largest
    first. Empty at the deepest level."""
    if level >= levels.depth or not len(rows):
        return pd.DataFrame({"group": pd.Series(dtype=int), "name": pd.Series(dtype=str), "products": pd.Series(dtype=int)})
    groups, counts = np.unique(levels.labels[level][rows], return_counts=True)
    children = pd.DataFrame({"group": groups, "name": [levels.names[level][int(g)] for g in groups], "products": counts})
    return children.sort_values("products", ascending=False, kind="stable").reset_index(drop=True)


def sub_paths(levels: GroupLevels, level: int, rows: np.ndarray) -> np.ndarray:
    """For the products at ``rows``: their path of sub-group names below ``level`` down to the deepest level
    ("steel · litre > cordless"), empty at the deepest level."""
    parts = [pd.Series(levels.labels[depth][rows]).map(levels.names[depth]).to_numpy(dtype=object)
             for depth in range(level, levels.depth)]
    if not parts:
        return np.full(len(rows), "", dtype=object)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + SEPARATOR + part
    return joined


def accept_with_sub_groups(store: ReviewStore, name: str, sub_group_of: dict[str, str], seen: int | None = None) -> dict[str, int]:
    """Accepts a suggested group with the groups below it: each product nobody reviewed goes to "name > its
    sub-groups' path" (one decision, one undo); reviewed products keep their decision. Returns category -> products."""
    return store.accept_under(name, {pid: f"{name}{SEPARATOR}{part}" if part else name for pid, part in sub_group_of.items()},
                              seen=seen)


def reviewed_paths(groups: pd.DataFrame) -> list[str]:
    """Every level of the accepted categories' paths ("A", "A > B", "A > B > C"), sorted."""
    paths = set()
    for name in groups.loc[groups["status"] == "accepted", "name"]:
        parts = name.split(SEPARATOR)
        paths.update(SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return sorted(paths)


def reviewed_nodes(groups: pd.DataFrame, parent: str = "") -> pd.DataFrame:
    """The reviewed categories right below ``parent`` ("" for the top): path, name (its last part), products (its own
    and every category below it), below (how many categories lie below it), group_id (its own group, -1 if it has
    none: only categories below it carry its name)."""
    accepted = groups[groups["status"] == "accepted"]
    prefix = parent + SEPARATOR if parent else ""
    inside = accepted[accepted["name"].str.startswith(prefix)]
    rest = inside["name"].str.slice(len(prefix))
    head = rest.str.split(SEPARATOR, n=1, regex=False).str[0]
    own = rest == head
    frame = pd.DataFrame({"name": head.to_numpy(), "size": inside["size"].to_numpy(), "own": own.to_numpy(),
                          "group_id": inside["group_id"].to_numpy()})
    nodes = frame.groupby("name", sort=True).agg(products=("size", "sum"), below=("own", lambda o: int((~o).sum())))
    own_groups = frame[frame["own"]].drop_duplicates("name").set_index("name")["group_id"]
    nodes = nodes.assign(group_id=own_groups.reindex(nodes.index).fillna(-1).astype(int)).reset_index()
    nodes.insert(0, "path", prefix + nodes["name"])
    return nodes


def node_product_ids(groups: pd.DataFrame, assignments: pd.DataFrame, path: str) -> pd.Series:
    """Ids of the products filed in the reviewed category ``path`` or any category below it."""
    accepted = groups[groups["status"] == "accepted"]
    inside = accepted.loc[at_or_below(accepted["name"], path), "group_id"]
    return assignments.loc[assignments["group_id"].isin(inside), "product_id"]


def level_columns(paths: pd.Series, depth: int | None = None) -> pd.DataFrame:
    """One column per level of paths "A > B > C": level_1, level_2, ... (empty below a path's end); ``depth``
    columns, or as many as the longest path has."""
    parts = paths.astype(str).str.split(SEPARATOR, regex=False)
    depth = depth or (int(parts.str.len().max()) if len(parts) else 1)
    return pd.DataFrame({f"level_{level + 1}": parts.str[level].fillna("").to_numpy() for level in range(depth)},
                        index=paths.index)


def categories_export(final: pd.DataFrame) -> pd.DataFrame:
    """The final categories with the path split into one column per level (after final_category; products without a
    category have empty levels)."""
    levels = level_columns(final["final_category"].where(final["final_category"] != UNASSIGNED, ""))
    at = final.columns.get_loc("final_category") + 1
    return pd.concat([final.iloc[:, :at], levels, final.iloc[:, at:]], axis=1)


def export_categories(workspace: Workspace, out: str | Path) -> dict:
    """Writes the final categories (:func:`categories_export`: decisions first, suggestions for the rest) to ``out``,
    CSV or Excel by its suffix, formula-safe; returns what was written. The suggested groups are computed if they
    are not kept yet (as the page's reading does)."""
    from prodsim.api.grouping import final_categories

    out = output_file(out, "export", "categories.csv")
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise BadInputError(f"Categories are exported as .csv or .xlsx; '{out.name}' is neither. Nothing was written.")
    products = workspace.products()
    if out.suffix.lower() == ".xlsx" and len(products) > XLSX_ROW_LIMIT:
        raise BadInputError(f"Excel exports go up to {XLSX_ROW_LIMIT:,} rows; this catalog has {len(products):,}: use .csv.")
    table = categories_export(final_categories(workspace)[1])
    data = csv_bytes(table) if out.suffix.lower() == ".csv" else xlsx_bytes(table)
    atomic_write_bytes(out, data)
    return {"workspace": str(workspace.path), "out": str(out), "products": len(table),
            "reviewed": int((table["source"] != "suggested").sum()), "levels": int(table.columns.str.startswith("level_").sum()),
            "bytes": len(data)}
