"""Decisions on suggested duplicate pairs, kept in the workspace's SQLite database.

Every label is saved the moment it is made, logged with its previous value, and can be
undone step by step; exports carry who decided what and when.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.workspace import Workspace, check_writable, now_iso

LABELS = ("duplicate", "variant", "different")
SCHEMA = """
CREATE TABLE IF NOT EXISTS pair_labels (
    left_id TEXT NOT NULL, right_id TEXT NOT NULL, label TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    PRIMARY KEY (left_id, right_id)
);
CREATE TABLE IF NOT EXISTS pair_label_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, left_id TEXT NOT NULL, right_id TEXT NOT NULL,
    before TEXT, after TEXT, at TEXT NOT NULL, actor TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0
);
"""


def _key(left_id: str, right_id: str) -> tuple[str, str]:
    """Pairs are unordered: (a, b) and (b, a) are one decision."""
    return (left_id, right_id) if left_id <= right_id else (right_id, left_id)


class PairLabels:
    """The label store of one workspace."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        with workspace.connect() as connection:
            connection.executescript(SCHEMA)
        connection.close()

    def _write(self, left_id: str, right_id: str, label: str | None, actor: str, log: bool = True) -> None:
        check_writable("labelling a pair")
        with self.workspace.connect() as connection:
            row = connection.execute("SELECT label FROM pair_labels WHERE left_id=? AND right_id=?", (left_id, right_id)).fetchone()
            before = row[0] if row else None
            if label is None:
                connection.execute("DELETE FROM pair_labels WHERE left_id=? AND right_id=?", (left_id, right_id))
            else:
                connection.execute("INSERT OR REPLACE INTO pair_labels VALUES (?, ?, ?, ?, ?)", (left_id, right_id, label, now_iso(), actor))
            if log:
                connection.execute("INSERT INTO pair_label_log (left_id, right_id, before, after, at, actor) VALUES (?, ?, ?, ?, ?, ?)",
                                   (left_id, right_id, before, label, now_iso(), actor))
        connection.close()

    def set(self, left_id: str, right_id: str, label: str, actor: str = "user") -> None:
        """Records a decision on a pair (replacing an earlier one)."""
        if label not in LABELS:
            raise BadInputError(f"'{label}' is not a pair label; use one of {', '.join(LABELS)}.")
        self._write(*_key(str(left_id), str(right_id)), label, actor)

    def undo(self, actor: str = "user") -> dict | None:
        """Reverts the latest decision not yet undone; returns what was undone (None if nothing)."""
        check_writable("undo")
        with self.workspace.connect() as connection:
            last = connection.execute("SELECT id, left_id, right_id, before, after FROM pair_label_log "
                                      "WHERE undone=0 ORDER BY id DESC LIMIT 1").fetchone()
            if last is not None:
                connection.execute("UPDATE pair_label_log SET undone=1 WHERE id=?", (last[0],))
        connection.close()
        if last is None:
            return None
        _, left_id, right_id, before, after = last
        self._write(left_id, right_id, before, actor, log=False)
        return {"left_id": left_id, "right_id": right_id, "before": after, "after": before}

    def labels(self) -> pd.DataFrame:
        """Current decisions: left_id, right_id, label, at, actor."""
        with self.workspace.connect() as connection:
            frame = pd.read_sql_query("SELECT * FROM pair_labels ORDER BY at", connection)
        connection.close()
        return frame

    def history(self) -> pd.DataFrame:
        """Every decision and undo, newest first."""
        with self.workspace.connect() as connection:
            frame = pd.read_sql_query("SELECT at, actor, left_id, right_id, before, after, undone FROM pair_label_log ORDER BY id DESC", connection)
        connection.close()
        return frame

    def labels_of(self, left_ids, right_ids) -> np.ndarray:
        """The decided label of each pair (either order), "" where nobody decided: one join, no loop over pairs."""
        left, right = np.asarray(left_ids, dtype=object).astype(str), np.asarray(right_ids, dtype=object).astype(str)
        first = np.where(left <= right, left, right)
        second = np.where(left <= right, right, left)
        decided = self.labels().set_index(["left_id", "right_id"])["label"]
        found = decided.reindex(pd.MultiIndex.from_arrays([first, second])) if len(decided) else pd.Series(index=range(len(left)), dtype=object)
        return found.fillna("").to_numpy(dtype=object)

    @staticmethod
    def key(left_id: str, right_id: str) -> tuple[str, str]:
        """The store's key for a pair."""
        return _key(str(left_id), str(right_id))
