"""Review of suggested groupings: accept, rename, merge, split, move, reject; undo and redo; export.

Decisions are stored by product id in the workspace's SQLite database, never by cluster
number, so re-running the clustering cannot wipe them: reviewed products keep their group,
and only products nobody has decided on take the new suggestions. Every operation is
logged with the rows it changed before and after, which is what undo and redo replay.
"""

from __future__ import annotations

import json
import sqlite3

import pandas as pd

from prodsim.errors import BadInputError
from prodsim.workspace import Workspace, check_writable, now_iso

UNASSIGNED = "(no category)"
SCHEMA = """
CREATE TABLE IF NOT EXISTS review_groups (
    group_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_assignments (
    product_id TEXT PRIMARY KEY, group_id INTEGER NOT NULL, source TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    summary TEXT NOT NULL, changes TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0
);
"""


class ReviewStore:
    """Category decisions of one workspace."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        with self._connect() as connection:
            connection.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = self.workspace.connect()
        connection.row_factory = sqlite3.Row
        return connection

    # --- reading -------------------------------------------------------------------------
    def groups(self) -> pd.DataFrame:
        """Groups with their size: group_id, name, status (accepted/rejected), created, size."""
        with self._connect() as connection:
            return pd.read_sql_query(
                "SELECT g.group_id, g.name, g.status, g.created, COUNT(a.product_id) AS size FROM review_groups g "
                "LEFT JOIN review_assignments a ON a.group_id = g.group_id GROUP BY g.group_id ORDER BY g.name", connection)

    def assignments(self) -> pd.DataFrame:
        """product_id, group_id, source (reviewed/moved), at."""
        with self._connect() as connection:
            return pd.read_sql_query("SELECT * FROM review_assignments", connection)

    def version(self) -> tuple[int, int, int]:
        """Changes with every decision, undo and redo (a cache key for what is derived from the decisions)."""
        with self._connect() as connection:
            return tuple(connection.execute("SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(SUM(undone), 0) FROM review_log").fetchone())

    def log(self) -> pd.DataFrame:
        """Every operation, newest first: when, who, what, and whether it was undone."""
        with self._connect() as connection:
            return pd.read_sql_query("SELECT id, at, actor, action, summary, undone FROM review_log ORDER BY id DESC", connection)

    # --- the one write path -----------------------------------------------------------------
    @staticmethod
    def _snapshot(connection, product_ids: set[str]) -> dict:
        """All groups (there are few) and the assignments of the products an operation touches."""
        groups = [dict(r) for r in connection.execute("SELECT * FROM review_groups")]
        # One join instead of a query per product (accepting a group of 240k products took 240k queries).
        connection.execute("CREATE TEMP TABLE IF NOT EXISTS touched (product_id TEXT PRIMARY KEY)")
        connection.execute("DELETE FROM touched")
        connection.executemany("INSERT OR IGNORE INTO touched VALUES (?)", ((p,) for p in product_ids))
        products = dict.fromkeys(product_ids)
        products.update({r["product_id"]: dict(r) for r in connection.execute(
            "SELECT a.* FROM review_assignments a JOIN touched t ON t.product_id = a.product_id")})
        return {"groups": groups, "assignments": products}

    @staticmethod
    def _restore(connection, state: dict) -> None:
        connection.execute("DELETE FROM review_groups")
        connection.executemany("INSERT INTO review_groups VALUES (:group_id, :name, :status, :created)", state["groups"])
        for product_id, row in state["assignments"].items():
            connection.execute("DELETE FROM review_assignments WHERE product_id=?", (product_id,))
            if row:
                connection.execute("INSERT INTO review_assignments VALUES (:product_id, :group_id, :source, :at)", row)

    def _apply(self, action: str, summary: str, product_ids: set[str], change, actor: str) -> None:
        """Runs ``change(connection)`` in one transaction and logs the rows before and after."""
        check_writable("a review decision")
        with self._connect() as connection:
            # One writer at a time, from the first read on: a colleague's decision lands wholly before or after.
            connection.execute("BEGIN IMMEDIATE")
            before = self._snapshot(connection, product_ids)
            change(connection)
            after = self._snapshot(connection, product_ids)
            connection.execute("DELETE FROM review_log WHERE undone=1")  # a new decision ends the redo chain
            connection.execute("INSERT INTO review_log (at, actor, action, summary, changes) VALUES (?, ?, ?, ?, ?)",
                               (now_iso(), actor, action, summary, json.dumps({"before": before, "after": after})))

    def _group_id(self, connection, name: str, status: str = "accepted") -> int:
        row = connection.execute("SELECT group_id FROM review_groups WHERE name=? AND status=?", (name, status)).fetchone()
        if row:
            return row[0]
        return connection.execute("INSERT INTO review_groups (name, status, created) VALUES (?, ?, ?)",
                                  (name, status, now_iso())).lastrowid

    # --- decisions ---------------------------------------------------------------------------
    def accept(self, name: str, product_ids: list[str], actor: str = "user", status: str = "accepted") -> int:
        """Accepts a suggested group under ``name`` (a rename at the same time); returns how many products it took."""
        name = _clean(name)
        ids = set(map(str, product_ids))
        existing = set(self.assignments()["product_id"])
        todo = sorted(ids - existing)
        if not todo:
            raise BadInputError("Every product of this group has already been reviewed (by you or a colleague); nothing was "
                                "changed. Move products instead.")

        def change(connection):
            taken = {row[0] for row in connection.execute("SELECT product_id FROM review_assignments")} & set(todo)
            if taken:  # reviewed by someone else since this page read the decisions
                raise BadInputError(f"{len(taken):,} of these {len(todo):,} products were reviewed by a colleague a moment ago; "
                                    "nothing was changed. The page now shows the current state.")
            group = self._group_id(connection, name, status)
            connection.executemany("INSERT INTO review_assignments VALUES (?, ?, 'reviewed', ?)", [(p, group, now_iso()) for p in todo])
        verb = "Rejected" if status == "rejected" else "Accepted"
        self._apply("reject" if status == "rejected" else "accept", f"{verb} '{name}' ({len(todo)} products)", set(todo), change, actor)
        return len(todo)

    def reject(self, label: str, product_ids: list[str], actor: str = "user") -> int:
        """Marks a suggestion as wrong: its products stay without a category and leave the suggestions."""
        return self.accept(f"rejected: {label}", product_ids, actor, status="rejected")

    def rename(self, group_id: int, name: str, actor: str = "user") -> str:
        """Renames an accepted group; returns the new name."""
        name = _clean(name)
        old = self._name(group_id)
        self._apply("rename", f"Renamed '{old}' to '{name}'", set(),
                    lambda c: c.execute("UPDATE review_groups SET name=? WHERE group_id=?", (name, group_id)), actor)
        return name

    def merge(self, source: int, target: int, actor: str = "user") -> int:
        """Moves every product of group ``source`` into ``target`` and removes ``source``; returns how many moved."""
        if source == target:
            raise BadInputError("A group cannot be merged into itself; pick another target group.")
        names = (self._name(source), self._name(target))
        members = set(self.assignments().query("group_id == @source")["product_id"])

        def change(connection):
            connection.execute("UPDATE review_assignments SET group_id=?, at=? WHERE group_id=?", (target, now_iso(), source))
            connection.execute("DELETE FROM review_groups WHERE group_id=?", (source,))
        self._apply("merge", f"Merged '{names[0]}' into '{names[1]}' ({len(members)} products)", members, change, actor)
        return len(members)

    def move(self, product_ids: list[str], name: str, actor: str = "user") -> int:
        """Puts products into the group called ``name`` (created if new); returns how many moved."""
        name = _clean(name)
        ids = sorted(set(map(str, product_ids)))
        if not ids:
            raise BadInputError("Select at least one product to move.")

        def change(connection):
            group = self._group_id(connection, name)
            connection.executemany("INSERT OR REPLACE INTO review_assignments VALUES (?, ?, 'moved', ?)", [(p, group, now_iso()) for p in ids])
        self._apply("move", f"Moved {len(ids)} products to '{name}'", set(ids), change, actor)
        return len(ids)

    def split(self, label: str, names_by_product: dict[str, str], actor: str = "user") -> dict[str, int]:
        """Files a group's products under several new names in one decision (one undo step).

        Args:
            label: the group being split (for the log).
            names_by_product: product id -> the name of its part.

        Returns:
            part name -> how many products it took.
        """
        if len(set(names_by_product.values())) < 2:
            raise BadInputError("A split needs at least two parts.")
        parts = {p: _clean(n) for p, n in names_by_product.items()}
        sizes = pd.Series(parts).value_counts().to_dict()

        def change(connection):
            groups = {name: self._group_id(connection, name) for name in sizes}
            connection.executemany("INSERT OR REPLACE INTO review_assignments VALUES (?, ?, 'reviewed', ?)",
                                   [(p, groups[n], now_iso()) for p, n in parts.items()])
        listing = ", ".join(f"'{n}' ({c})" for n, c in sizes.items())
        self._apply("split", f"Split '{label}' into {listing}", set(parts), change, actor)
        return sizes

    def _step(self, undo: bool) -> str | None:
        check_writable("undo or redo")
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            query = ("SELECT * FROM review_log WHERE undone=0 ORDER BY id DESC LIMIT 1" if undo
                     else "SELECT * FROM review_log WHERE undone=1 ORDER BY id ASC LIMIT 1")
            entry = connection.execute(query).fetchone()
            if entry is None:
                return None
            changes = json.loads(entry["changes"])
            self._restore(connection, changes["before"] if undo else changes["after"])
            connection.execute("UPDATE review_log SET undone=? WHERE id=?", (1 if undo else 0, entry["id"]))
            return entry["summary"]

    def undo(self) -> str | None:
        """Reverts the latest decision; returns its summary (None if there is nothing to undo)."""
        return self._step(undo=True)

    def redo(self) -> str | None:
        """Re-applies the earliest undone decision; returns its summary (None if there is nothing to redo)."""
        return self._step(undo=False)

    def _name(self, group_id: int) -> str:
        with self._connect() as connection:
            row = connection.execute("SELECT name FROM review_groups WHERE group_id=?", (group_id,)).fetchone()
        if row is None:
            raise BadInputError(f"There is no group number {group_id}; it may have been merged away.")
        return row[0]

    # --- the result ----------------------------------------------------------------------------
    def final(self, products: pd.DataFrame, suggested: pd.Series) -> pd.DataFrame:
        """Each product's final category: decisions first, suggestions for the rest.

        Args:
            products: the product table.
            suggested: suggested group name per product (aligned with ``products``).

        Returns:
            id, title, final_category, source (suggested / reviewed / moved / rejected), suggested.
        """
        groups = self.groups().set_index("group_id")
        decided = self.assignments().drop_duplicates("product_id").set_index("product_id")
        ids = products["id"].astype(str)
        suggestion = pd.Series(suggested).reset_index(drop=True).astype(str)
        group = ids.map(decided["group_id"]).reset_index(drop=True)  # NaN for products nobody decided on
        status = group.map(groups["status"])
        name = group.map(groups["name"])
        source = ids.map(decided["source"]).reset_index(drop=True)
        rejected = status == "rejected"
        decided_rows = group.notna()
        final = suggestion.where(~decided_rows, name).where(~rejected, UNASSIGNED)
        source = source.where(decided_rows, "suggested").where(~rejected, "rejected")
        return pd.DataFrame({"id": ids.to_numpy(), "title": products["title"].to_numpy(), "final_category": final.to_numpy(),
                             "source": source.to_numpy(), "suggested": suggestion.to_numpy()})


def _clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInputError("A category needs a name; the name was empty.")
    if len(name) > 120:
        raise BadInputError(f"Category names are kept under 120 characters; this one has {len(name)}.")
    return name
