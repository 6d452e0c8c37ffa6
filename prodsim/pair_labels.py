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
UNSEEN = object()  # ``expected`` default: no check of what the page showed


def _key(left_id: str, right_id: str) -> tuple[str, str]:
    """Pairs are unordered: (a, b) and (b, a) are one decision."""
    return (left_id, right_id) if left_id <= right_id else (right_id, left_id)


class PairLabels:
    """The label store of one workspace (the tables are in prodsim.workspace.SCHEMA)."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        workspace.connect().close()  # creates or migrates the database now, so a newer one is refused here

    @staticmethod
    def _write(connection, left_id: str, right_id: str, label: str | None, actor: str) -> None:
        if label is None:
            connection.execute("DELETE FROM pair_labels WHERE left_id=? AND right_id=?", (left_id, right_id))
        else:
            connection.execute("INSERT OR REPLACE INTO pair_labels VALUES (?, ?, ?, ?, ?)", (left_id, right_id, label, now_iso(), actor))

    def set(self, left_id: str, right_id: str, label: str, expected=UNSEEN) -> bool:
        """Records the acting person's decision on a pair (replacing an earlier one).

        Args:
            expected: the label the deciding page showed ("" for none); if a colleague changed it since, the decision
                is refused with a message naming them (the default skips the check, for the library and CLI).

        Returns:
            False when the pair already has this label from this person since the page was drawn (a second click
            before the page caught up with the first): nothing is written, and nothing is refused.
        """
        if label not in LABELS:
            raise BadInputError(f"'{label}' is not a pair label; use one of {', '.join(LABELS)}.")
        actor = check_writable("labelling a pair", "reviewer")
        left_id, right_id = _key(str(left_id), str(right_id))
        with self.workspace.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")  # read and write as one step: two reviewers never both win
            row = connection.execute("SELECT label, actor, at FROM pair_labels WHERE left_id=? AND right_id=?", (left_id, right_id)).fetchone()
            before = row[0] if row else None
            stale = expected is not UNSEEN and (before or "") != (expected or "")
            if stale:
                connection.rollback()
                if not (row and before == label and row[1] == actor):  # not merely this person's own earlier click
                    raise BadInputError(f"{row[1] if row else 'A colleague'} changed this pair to '{before or 'not decided'}' at "
                                        f"{(row[2] if row else now_iso())[11:16]} UTC, after this page was drawn; nothing was changed. "
                                        "The page now shows the current decision.")
            else:
                self._write(connection, left_id, right_id, label, actor)
                connection.execute("INSERT INTO pair_label_log (left_id, right_id, before, after, at, actor) VALUES (?, ?, ?, ?, ?, ?)",
                                   (left_id, right_id, before, label, now_iso(), actor))
        connection.close()
        return not stale

    def undo(self, force: bool = False) -> dict | None:
        """Reverts the acting person's latest decision not yet undone; returns what was undone (None if nothing).

        Raises:
            UndoConflict: a colleague decided the same pair later (``force=True`` undoes anyway).
        """
        from prodsim.review import UndoConflict

        actor = check_writable("undo", "reviewer")
        with self.workspace.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            last = connection.execute("SELECT id, left_id, right_id, before, after FROM pair_label_log "
                                      "WHERE undone=0 AND actor=? ORDER BY id DESC LIMIT 1", (actor,)).fetchone()
            if last is None:
                connection.rollback()
                return None
            entry, left_id, right_id, before, after = last
            later = connection.execute("SELECT actor, after, at FROM pair_label_log WHERE id > ? AND left_id=? AND right_id=? "
                                       "AND undone=0 AND actor != ? ORDER BY id DESC LIMIT 1", (entry, left_id, right_id, actor)).fetchone()
            if later is not None and not force:
                connection.rollback()
                raise UndoConflict(f"{later[0]} labelled this pair '{later[1]}' at {later[2][11:16]} UTC, after your decision. "
                                   "Undoing puts back the label from before yours, over theirs. Nothing was changed yet: "
                                   "undo anyway, or leave it.")
            connection.execute("UPDATE pair_label_log SET undone=1 WHERE id=?", (entry,))
            prior = connection.execute("SELECT actor FROM pair_label_log WHERE id < ? AND left_id=? AND right_id=? AND undone=0 "
                                       "ORDER BY id DESC LIMIT 1", (entry, left_id, right_id)).fetchone()
            self._write(connection, left_id, right_id, before, prior[0] if prior else actor)  # the label is theirs again
        connection.close()
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

    def labels_of(self, left_ids, right_ids, decisions: pd.DataFrame | None = None) -> np.ndarray:
        """The decided label of each pair (either order), "" where nobody decided: one join, no loop over pairs.
        ``decisions``: :meth:`labels` already read by the caller (read here otherwise)."""
        left, right = np.asarray(left_ids, dtype=object).astype(str), np.asarray(right_ids, dtype=object).astype(str)
        first = np.where(left <= right, left, right)
        second = np.where(left <= right, right, left)
        decided = (self.labels() if decisions is None else decisions).set_index(["left_id", "right_id"])["label"]
        found = decided.reindex(pd.MultiIndex.from_arrays([first, second])) if len(decided) else pd.Series(index=range(len(left)), dtype=object)
        return found.fillna("").to_numpy(dtype=object)

    @staticmethod
    def key(left_id: str, right_id: str) -> tuple[str, str]:
        """The store's key for a pair."""
        return _key(str(left_id), str(right_id))
