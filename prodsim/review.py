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
FILED = "filed automatically"  # the source of an assignment made by an update, not by a person
ASSIGN = "INSERT OR REPLACE INTO review_assignments (product_id, group_id, source, at, actor) VALUES (?, ?, ?, ?, ?)"


# A category at any level is a group named by its whole path ("A > B > C"), so this is a path's length.
MAX_GROUP_NAME = 400
SEPARATOR = " > "  # between the levels of a path (the tree files, the suggested levels, accepted sub-groups)


class StaleDecision(BadInputError):
    """A colleague changed the products (or groups) of a decision after the page that makes it was drawn."""


class UndoConflict(BadInputError):
    """A colleague's later decision touched the same products: undoing would overwrite it, so the person is asked."""


class ReviewStore:
    """Category decisions of one workspace (the tables are in prodsim.workspace.SCHEMA)."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._connect().close()  # creates or migrates the database now, so a newer one is refused here

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
        """product_id, group_id, source (reviewed/moved), at, actor."""
        with self._connect() as connection:
            return pd.read_sql_query("SELECT product_id, group_id, source, at, actor FROM review_assignments", connection)

    def step(self) -> int:
        """Counts every decision, undo and redo: a page keeps the step it was drawn at (see ``seen`` below)."""
        with self._connect() as connection:
            return _clock(connection)

    def log(self) -> pd.DataFrame:
        """Every operation, newest first: when, who, what, and whether it was undone."""
        with self._connect() as connection:
            return pd.read_sql_query("SELECT id, at, actor, action, summary, undone FROM review_log ORDER BY id DESC", connection)

    def changes_since(self, step: int, person: str) -> pd.DataFrame:
        """Decisions, undos and redos by others than ``person`` after ``step``: at, actor, action, summary, undone."""
        with self._connect() as connection:
            return pd.read_sql_query("SELECT at, actor, action, summary, undone FROM review_log WHERE changed > ? AND actor != ? "
                                     "ORDER BY changed DESC", connection, params=(step, person))

    # --- the one write path -----------------------------------------------------------------
    @staticmethod
    def _mark(connection, product_ids) -> None:
        """Fills the temporary table of the products an operation touches (joins instead of a query per product)."""
        connection.execute("CREATE TEMP TABLE IF NOT EXISTS touched (product_id TEXT PRIMARY KEY)")
        connection.execute("DELETE FROM touched")
        connection.executemany("INSERT OR IGNORE INTO touched VALUES (?)", ((p,) for p in product_ids))

    @staticmethod
    def _snapshot(connection, product_ids: set[str]) -> dict:
        """All groups (there are few) and the assignments of the products an operation touches (marked first)."""
        groups = [dict(r) for r in connection.execute("SELECT * FROM review_groups")]
        products = dict.fromkeys(product_ids)
        products.update({r["product_id"]: dict(r) for r in connection.execute(
            "SELECT a.* FROM review_assignments a JOIN touched t ON t.product_id = a.product_id")})
        return {"groups": groups, "assignments": products}

    @staticmethod
    def _touched_groups(before: dict, after: dict) -> set[int]:
        """Groups created, removed or changed between two snapshots, and the groups their products left or joined."""
        old = {g["group_id"]: g for g in before["groups"]}
        new = {g["group_id"]: g for g in after["groups"]}
        changed = {g for g in old.keys() | new.keys() if old.get(g) != new.get(g)}
        members = {row["group_id"] for snapshot in (before, after) for row in snapshot["assignments"].values() if row}
        return changed | members

    @staticmethod
    def _restore(connection, target: dict, current: dict) -> None:
        """Puts the touched products and groups back as in ``target`` (``current``: the snapshot on the other side).

        Only what the operation touched is written, so a colleague's groups and products are left as they are.
        """
        old = {g["group_id"]: g for g in target["groups"]}
        for product_id, row in target["assignments"].items():
            connection.execute("DELETE FROM review_assignments WHERE product_id=?", (product_id,))
            if row:
                connection.execute(ASSIGN, (row["product_id"], row["group_id"], row["source"], row["at"], row.get("actor", "")))
                # its group may have gone since (a colleague's undo removed it): it comes back with the product
                connection.execute("INSERT OR IGNORE INTO review_groups VALUES (:group_id, :name, :status, :created)", old[row["group_id"]])
        for group in current["groups"]:
            if group["group_id"] not in old:  # created by the operation: removed again unless someone filed products there
                connection.execute("DELETE FROM review_groups WHERE group_id=? AND NOT EXISTS "
                                   "(SELECT 1 FROM review_assignments WHERE group_id=?)", (group["group_id"],) * 2)
        now = {g["group_id"]: g for g in current["groups"]}
        for group_id, group in old.items():
            if now.get(group_id) != group:  # removed (merged away) or renamed by the operation
                connection.execute("INSERT OR REPLACE INTO review_groups VALUES (:group_id, :name, :status, :created)", group)

    @staticmethod
    def _refuse_if_changed_since(connection, seen: int, groups: set[int]) -> None:
        """Refuses when a decision, undo or redo after step ``seen`` touched these products (marked) or ``groups``."""
        marks = ",".join("?" * len(groups))
        row = connection.execute(
            "SELECT l.actor, l.summary, l.at, l.undone FROM review_log l WHERE l.changed > ? AND ("
            "EXISTS (SELECT 1 FROM review_log_products lp JOIN touched t ON t.product_id = lp.product_id WHERE lp.log_id = l.id)"
            + (f" OR EXISTS (SELECT 1 FROM review_log_groups lg WHERE lg.log_id = l.id AND lg.group_id IN ({marks}))" if groups else "")
            + ") ORDER BY l.changed DESC LIMIT 1", (seen, *groups)).fetchone()
        if row is not None:
            what = f"undid '{row['summary']}'" if row["undone"] else f"decided '{row['summary']}'"
            raise StaleDecision(f"{row['actor']} {what} at {row['at'][11:16]} UTC, after this page was drawn, on some of the "
                                "same products; nothing was changed. The page now shows the current state: check it and decide again.")

    def _apply(self, action: str, summary: str, product_ids: set[str], change, seen: int | None = None,
               groups: set[int] = frozenset()) -> None:
        """Runs ``change(connection, actor)`` in one transaction and logs the rows before and after.

        Args:
            seen: the step the deciding page was drawn at: refused if a colleague touched these products since
                (None: no such check, for the library and CLI).
            groups: groups the decision is about (rename, merge), checked against ``seen`` as well.
        """
        actor = check_writable("a review decision", "reviewer")
        with self._connect() as connection:
            # One writer at a time, from the first read on: a colleague's decision lands wholly before or after.
            connection.execute("BEGIN IMMEDIATE")
            self._mark(connection, product_ids)
            if seen is not None:
                self._refuse_if_changed_since(connection, seen, set(groups))
            before = self._snapshot(connection, product_ids)
            change(connection, actor)
            after = self._snapshot(connection, product_ids)
            entry = connection.execute(
                "INSERT INTO review_log (at, actor, action, summary, changes, changed) VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), actor, action, summary, json.dumps({"before": before, "after": after}), _tick(connection))).lastrowid
            connection.execute("INSERT INTO review_log_products SELECT ?, product_id FROM touched", (entry,))
            connection.executemany("INSERT INTO review_log_groups VALUES (?, ?)",
                                   [(entry, g) for g in self._touched_groups(before, after) | set(groups)])

    def _group_id(self, connection, name: str, status: str = "accepted") -> int:
        row = connection.execute("SELECT group_id FROM review_groups WHERE name=? AND status=?", (name, status)).fetchone()
        if row:
            return row[0]
        return connection.execute("INSERT INTO review_groups (name, status, created) VALUES (?, ?, ?)",
                                  (name, status, now_iso())).lastrowid

    # --- decisions ---------------------------------------------------------------------------
    # ``seen``: the step (see :meth:`step`) the deciding page was drawn at; a colleague's later change to the
    # same products or groups refuses the decision with StaleDecision. None skips the check (library, CLI).
    def accept(self, name: str, product_ids: list[str], status: str = "accepted", seen: int | None = None) -> int:
        """Accepts a suggested group under ``name`` (a rename at the same time); returns how many products it took."""
        name = _clean(name)
        ids = set(map(str, product_ids))
        existing = set(self.assignments()["product_id"])
        todo = sorted(ids - existing)
        if not todo:
            raise BadInputError("Every product of this group has already been reviewed (by you or a colleague); nothing was "
                                "changed. Move products instead.")

        def change(connection, actor):
            taken = connection.execute("SELECT COUNT(*) FROM review_assignments a JOIN touched t ON t.product_id = a.product_id").fetchone()[0]
            if taken:  # reviewed by someone else since this page read the decisions
                raise StaleDecision(f"{taken:,} of these {len(todo):,} products were reviewed by a colleague a moment ago; "
                                    "nothing was changed. The page now shows the current state.")
            group = self._group_id(connection, name, status)
            connection.executemany(ASSIGN, [(p, group, "reviewed", now_iso(), actor) for p in todo])
        verb = "Rejected" if status == "rejected" else "Accepted"
        self._apply("reject" if status == "rejected" else "accept", f"{verb} '{name}' ({len(todo)} products)", set(todo), change, seen)
        return len(todo)

    def reject(self, label: str, product_ids: list[str], seen: int | None = None) -> int:
        """Marks a suggestion as wrong: its products stay without a category and leave the suggestions."""
        return self.accept(f"rejected: {label}", product_ids, status="rejected", seen=seen)

    def rename(self, group_id: int, name: str, seen: int | None = None) -> str:
        """Renames an accepted group, and the categories below it with it (see :meth:`rename_path`)."""
        return self.rename_path(self._name(group_id), name, seen)

    def rename_path(self, path: str, name: str, seen: int | None = None) -> str:
        """Renames a reviewed category at any level in one decision: the group called ``path`` and every group
        below it ("path > …") take ``name`` in its place. Where a new name is already a category, the group merges
        into it, so renaming onto another category merges the two trees. Returns the new name."""
        self._rename_below(path, name, seen)
        return _clean(name)

    def _rename_below(self, path: str, name: str, seen: int | None) -> int:
        """:meth:`rename_path`; returns how many products merged into other categories."""
        name = _clean(name)
        groups = self.groups().query("status == 'accepted'")
        below = groups[at_or_below(groups["name"], path)]
        if below.empty:
            raise BadInputError(f"There is no reviewed category '{path}' any more (renamed or merged away?); nothing was changed.")
        if name == path or name.startswith(path + SEPARATOR):
            raise BadInputError(f"'{path}' already has this name; nothing was changed." if name == path else
                                f"'{path}' cannot go below itself ('{name}'); nothing was changed. Pick a category elsewhere.")
        renamed = {int(g): _clean(name + old[len(path):]) for g, old in zip(below["group_id"], below["name"])}
        taken = dict(zip(*groups[~groups["group_id"].isin(list(renamed))][["name", "group_id"]].to_numpy().T))
        merging = {g: int(taken[n]) for g, n in renamed.items() if n in taken}
        members = set(self.assignments().query("group_id in @merging")["product_id"]) if merging else set()

        def change(connection, actor):
            for group, new in renamed.items():
                if group in merging:
                    connection.execute("UPDATE review_assignments SET group_id=?, at=?, actor=? WHERE group_id=?",
                                       (merging[group], now_iso(), actor, group))
                    connection.execute("DELETE FROM review_groups WHERE group_id=?", (group,))
                else:
                    connection.execute("UPDATE review_groups SET name=? WHERE group_id=?", (new, group))
        under = int((below["name"] != path).sum())
        below_too = f" with {under} categor{'y' if under == 1 else 'ies'} below it" if under else ""
        summary = (f"Merged '{path}'{below_too} into '{name}' ({len(members)} products)" if merging
                   else f"Renamed '{path}'{below_too} to '{name}'")
        self._apply("merge" if merging else "rename", summary, members, change, seen, set(renamed) | set(merging.values()))
        return len(members)

    def merge(self, source: int, target: int, seen: int | None = None) -> int:
        """Moves every product of group ``source`` (and the categories below it) into ``target``; returns how many moved."""
        if source == target:
            raise BadInputError("A group cannot be merged into itself; pick another target group.")
        return self._rename_below(self._name(source), self._name(target), seen)

    def move(self, product_ids: list[str], name: str, seen: int | None = None) -> int:
        """Puts products into the group called ``name`` (created if new); returns how many moved."""
        name = _clean(name)
        ids = sorted(set(map(str, product_ids)))
        if not ids:
            raise BadInputError("Select at least one product to move.")

        def change(connection, actor):
            group = self._group_id(connection, name)
            connection.executemany(ASSIGN, [(p, group, "moved", now_iso(), actor) for p in ids])
        self._apply("move", f"Moved {len(ids)} products to '{name}'", set(ids), change, seen)
        return len(ids)

    def split(self, label: str, names_by_product: dict[str, str], seen: int | None = None) -> dict[str, int]:
        """Files a group's products under several new names in one decision (one undo step).

        Args:
            label: the group being split (for the log).
            names_by_product: product id -> the name of its part.
            seen: see above.

        Returns:
            part name -> how many products it took.
        """
        if len(set(names_by_product.values())) < 2:
            raise BadInputError("A split needs at least two parts.")
        parts = {p: _clean(n) for p, n in names_by_product.items()}
        sizes = pd.Series(parts).value_counts().to_dict()

        def change(connection, actor):
            groups = {name: self._group_id(connection, name) for name in sizes}
            connection.executemany(ASSIGN, [(p, groups[n], "reviewed", now_iso(), actor) for p, n in parts.items()])
        listing = ", ".join(f"'{n}' ({c})" for n, c in sizes.items())
        self._apply("split", f"Split '{label}' into {listing}", set(parts), change, seen)
        return sizes

    def file_automatically(self, names_by_product: dict[str, str]) -> dict[str, int]:
        """Files new products into reviewed categories in one decision (one undo step), marked "filed automatically";
        products someone decided on meanwhile are left as they are. Returns category -> how many it took."""
        return self._file_undecided("file", lambda n, c: f"Filed {n:,} new products automatically into {c:,} categories",
                                    names_by_product, FILED)

    def accept_under(self, label: str, names_by_product: dict[str, str], seen: int | None = None) -> dict[str, int]:
        """Accepts a parent category: its products nobody decided on are accepted into their own leaves in one
        decision (one undo step); reviewed ones keep their decision. Returns leaf -> how many it took.

        Raises:
            BadInputError: every product under ``label`` has been reviewed already.
        """
        sizes = self._file_undecided("accept", lambda n, c: f"Accepted '{label}' ({n:,} products in {c:,} categories)",
                                     names_by_product, "reviewed", seen)
        if not sizes:
            raise BadInputError(f"Every product under '{label}' has been reviewed already; nothing was changed.")
        return sizes

    def _file_undecided(self, action: str, summary, names_by_product: dict[str, str], source: str,
                        seen: int | None = None) -> dict[str, int]:
        existing = set(self.assignments()["product_id"])
        parts = {p: _clean(n) for p, n in names_by_product.items() if p not in existing}
        if not parts:
            return {}
        sizes = pd.Series(parts).value_counts().to_dict()

        def change(connection, actor):
            groups = {name: self._group_id(connection, name) for name in sizes}
            connection.executemany(ASSIGN, [(p, groups[n], source, now_iso(), actor) for p, n in parts.items()])
        self._apply(action, summary(len(parts), len(sizes)), set(parts), change, seen)
        return sizes

    # --- your own undo and redo ------------------------------------------------------------------
    def _step(self, undo: bool, force: bool) -> str | None:
        actor = check_writable("undo or redo", "reviewer")
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            # Redo takes back only undos after this person's latest standing decision: a new decision ends the chain.
            query = ("SELECT * FROM review_log WHERE undone=0 AND actor=? ORDER BY id DESC LIMIT 1" if undo else
                     "SELECT * FROM review_log WHERE undone=1 AND actor=:a AND id > "
                     "(SELECT COALESCE(MAX(id), 0) FROM review_log WHERE undone=0 AND actor=:a) ORDER BY id ASC LIMIT 1")
            entry = connection.execute(query, (actor,) if undo else {"a": actor}).fetchone()
            if entry is None:
                return None
            if not force:
                self._refuse_if_colleague_followed(connection, entry, actor)
            changes = json.loads(entry["changes"])
            target, current = (changes["before"], changes["after"]) if undo else (changes["after"], changes["before"])
            self._restore(connection, target, current)
            connection.execute("UPDATE review_log SET undone=?, changed=? WHERE id=?", (1 if undo else 0, _tick(connection), entry["id"]))
            return entry["summary"]

    @staticmethod
    def _refuse_if_colleague_followed(connection, entry, actor: str) -> None:
        """UndoConflict when someone else's standing decision after ``entry`` touched its products or groups."""
        # Someone else's decision that came after, or their undo or redo of any decision since this one changed.
        later = connection.execute(
            "SELECT l.actor, l.summary, l.at, l.undone FROM review_log l WHERE l.actor != :a "
            "AND ((l.id > :id AND l.undone = 0) OR l.changed > :changed) AND ("
            "EXISTS (SELECT 1 FROM review_log_products mine JOIN review_log_products theirs ON theirs.product_id = mine.product_id "
            "        WHERE mine.log_id = :id AND theirs.log_id = l.id) OR "
            "EXISTS (SELECT 1 FROM review_log_groups mine JOIN review_log_groups theirs ON theirs.group_id = mine.group_id "
            "        WHERE mine.log_id = :id AND theirs.log_id = l.id)) ORDER BY l.id DESC LIMIT 1",
            {"id": entry["id"], "a": actor, "changed": entry["changed"]}).fetchone()
        if later is not None:
            what = "undid" if later["undone"] else "decided"
            raise UndoConflict(f"{later['actor']} {what} '{later['summary']}' at {later['at'][11:16]} UTC, after your "
                               f"'{entry['summary']}', on some of the same products. Undoing puts them back as they were before "
                               "your decision, over theirs. Nothing was changed yet: undo anyway, or leave it.")

    def undo(self, force: bool = False) -> str | None:
        """Reverts the acting person's latest decision; returns its summary (None if they have nothing to undo).

        Raises:
            UndoConflict: a colleague's later decision touched the same products (``force=True`` undoes anyway).
        """
        return self._step(undo=True, force=force)

    def redo(self, force: bool = False) -> str | None:
        """Re-applies the acting person's earliest undone decision (None if there is nothing to redo)."""
        return self._step(undo=False, force=force)

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
            id, title, final_category, source (suggested / reviewed / moved / rejected), suggested,
            decided_by and decided_at (empty for suggestions).
        """
        groups = self.groups().set_index("group_id")
        decided = self.assignments().set_index("product_id")
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
                             "source": source.to_numpy(), "suggested": suggestion.to_numpy(),
                             "decided_by": ids.map(decided["actor"]).fillna("").to_numpy(),
                             "decided_at": ids.map(decided["at"]).fillna("").to_numpy()})


def at_or_below(names: pd.Series, path: str) -> pd.Series:
    """Which category names are ``path`` itself or lie below it ("path > …")."""
    return (names == path) | names.str.startswith(path + SEPARATOR)


def _clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInputError("A category needs a name; the name was empty.")
    if len(name) > MAX_GROUP_NAME:
        raise BadInputError(f"Category names are kept under {MAX_GROUP_NAME} characters; this one has {len(name)}.")
    return name


def _clock(connection) -> int:
    row = connection.execute("SELECT step FROM review_clock").fetchone()
    return row[0] if row else 0


def _tick(connection) -> int:
    """The next step (inside the caller's transaction); kept in its own table so it never goes back."""
    step = _clock(connection) + 1
    connection.execute("DELETE FROM review_clock")
    connection.execute("INSERT INTO review_clock VALUES (?)", (step,))
    return step
