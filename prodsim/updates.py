"""Living catalogs: what next week's file changes, and its new products filed into the categories people reviewed.

A category manager reviews a catalog once and then lives with it. An update first says what changed (new,
removed and changed products, with old and new values) before anything is replaced. New and changed
products nobody decided on are then filed by their nearest reviewed products: each neighbour votes for its
reviewed category with its similarity to the fourth power (close neighbours decide, far ones barely count),
and the winner's share of the votes is the confidence. Above the threshold a product is filed
automatically (one undoable decision for the whole update); below, it waits in the "New arrivals" queue
with its suggestion and its three nearest reviewed products as evidence.

Flipkart, 80 % reviewed by level-1 category, 20 % arriving (bench/living_catalog.py): 87 % filed
automatically at 0.8 with accuracy 0.989; the queue's suggestions are right 62 % of the time, which is why
they wait for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from prodsim.readers import RawTable
from prodsim.workspace import Workspace, atomic_write_parquet

COMPARED = ("title", "description", "brand", "category", "price", "image_sha1")  # image_sha1: the photo's content
FILING_NEIGHBOURS = 10
VOTE_POWER = 4
AUTO_FILE_ABOVE = 0.8
EVIDENCE = 3
EXAMPLES = 20  # changed products listed with their old and new values (the counts cover all)


SHOWN = {"image_sha1": "photo"}


def _shown(column: str, old: str, new: str) -> tuple[str, str]:
    """A changed value as a person reads it: a photo by the start of its content hash, or none."""
    if column != "image_sha1":
        return old, new
    return (f"photo {old[:8]}" if old else "no photo"), (f"photo {new[:8]}" if new else "no photo")


@dataclass
class CatalogDiff:
    """How an upload differs from the workspace's products, by id."""

    new: list[str]
    removed: list[str]
    changed: list[str]
    unchanged: int
    changes: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # id -> field -> (old, new), first EXAMPLES

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "removed": len(self.removed), "changed": len(self.changed), "unchanged": self.unchanged}

    def to_dict(self) -> dict:
        return self.counts() | {"new_ids": self.new[:EXAMPLES], "removed_ids": self.removed[:EXAMPLES],
                                "changes": {pid: {f: list(v) for f, v in fields.items()} for pid, fields in self.changes.items()}}


def catalog_diff(previous: pd.DataFrame, current: pd.DataFrame) -> CatalogDiff:
    """New, removed, changed (any of ``COMPARED`` differs) and unchanged products; column-wise, no per-row loop."""
    old = previous.set_index(previous["id"].astype(str))
    new = current.set_index(current["id"].astype(str))
    both = old.index.intersection(new.index)
    compared = [c for c in COMPARED if c in old.columns and c in new.columns]
    before = old.loc[both, compared].astype(str).fillna("")
    after = new.loc[both, compared].astype(str).fillna("")
    differs = before.ne(after)
    changed = differs.any(axis=1)
    changes = {}
    for pid in changed[changed].index[:EXAMPLES]:
        columns = differs.columns[differs.loc[pid].to_numpy()]
        changes[pid] = {SHOWN.get(c, c): _shown(c, before.at[pid, c], after.at[pid, c]) for c in columns}
    return CatalogDiff(new=new.index.difference(old.index, sort=False).tolist(), removed=old.index.difference(new.index, sort=False).tolist(),
                       changed=changed[changed].index.tolist(), unchanged=int((~changed).sum()), changes=changes)


@dataclass
class Filing:
    """Suggested categories for arriving products (rows aligned with the vectors given)."""

    category: np.ndarray
    confidence: np.ndarray
    evidence: np.ndarray  # (n, EVIDENCE) rows of the reviewed products, nearest first

    def automatic(self, threshold: float = AUTO_FILE_ABOVE) -> np.ndarray:
        return self.confidence >= threshold


def file_by_neighbours(reviewed: np.ndarray, categories: np.ndarray, arriving: np.ndarray, k: int = FILING_NEIGHBOURS) -> Filing:
    """Each arriving vector's category by a similarity-weighted vote of its ``k`` nearest reviewed vectors.

    Args:
        reviewed: (m, d) unit vectors of reviewed products; categories: their m category names.
        arriving: (n, d) unit vectors of the products to file.
    """
    from prodsim.index import batch_index, search_in_blocks

    k = min(k, len(reviewed))
    similarity, rows = search_in_blocks(batch_index(reviewed), arriving, k)
    weight = np.where(rows >= 0, np.maximum(similarity, 0.0), 0.0) ** VOTE_POWER  # an approximate index may return fewer
    rows = np.maximum(rows, 0)
    names, codes = np.unique(np.asarray(categories, dtype=str), return_inverse=True)
    votes = np.zeros((len(arriving), len(names)))
    np.add.at(votes, (np.repeat(np.arange(len(arriving)), k), codes[rows].ravel()), weight.ravel())
    total = votes.sum(axis=1)
    winner = votes.argmax(axis=1)
    confidence = np.where(total > 0, votes[np.arange(len(arriving)), winner] / np.where(total > 0, total, 1), 0.0)
    return Filing(names[winner], confidence, rows[:, :EVIDENCE])


def preview(workspace: Workspace, raw: RawTable, mapping: dict[str, str | None], images=None,
            images_name: str = "photos.zip") -> tuple[dict, CatalogDiff]:
    """What an upload would change in the workspace, before anything is written: (the plan as shown, the whole diff).

    ``images``: the photos uploaded with the file (ZIP or folder); they are hashed, not decoded. A product keeps
    its photo unless one is uploaded for it, and a photo with other content is a change.

    ``confirm`` lists what needs a person's yes: every product removed, a file whose columns map differently
    from the workspace's (another export, another mapping), or one with no new product. ``warnings`` says why.
    """
    from prodsim.catalog import build_products
    from prodsim.images import list_image_source, photo_hashes
    from prodsim.ingest import photos_still_theirs

    products, previous_products = build_products(raw, mapping)[0], workspace.products()
    photos = photo_hashes(list_image_source(images, images_name), products) if images is not None else {}
    kept = photos_still_theirs(previous_products, products)[0]  # as the update itself will keep them
    products["image_sha1"] = products["id"].map(photos).fillna(products["id"].map(kept)).fillna("")
    diff = catalog_diff(previous_products, products)
    confirm, warnings = [], []
    previous = {k: v for k, v in workspace.meta.get("mapping", {}).items() if v}
    now = {k: v for k, v in mapping.items() if v}
    if previous != now:
        differing = sorted(set(previous.items()) ^ set(now.items()))
        confirm.append("mapping")
        warnings.append("The columns map differently from the workspace's catalog (" + ", ".join(
            f"{f}: {previous.get(f) or 'nothing'} → {now.get(f) or 'nothing'}" for f in sorted({f for f, _ in differing})) +
            "); values of those fields will look changed.")
    if diff.unchanged + len(diff.changed) == 0 and len(previous_products):
        confirm.append("remove_all")
        warnings.append(f"No product of this file is in the workspace: all {len(diff.removed):,} products would be removed "
                        "(their decisions stay in the history).")
    if not diff.new and "remove_all" not in confirm:
        confirm.append("no_new")
        warnings.append("This file has no new products: an older export, or the same file again?")
    return {"diff": diff.to_dict(), "confirm": confirm, "warnings": warnings}, diff


def file_arrivals(workspace: Workspace, matrix: np.ndarray, arriving_ids: list[str], threshold: float = AUTO_FILE_ABOVE) -> dict:
    """Files arriving products nobody decided on into reviewed categories (above ``threshold``) in one decision and
    queues the rest as New arrivals (kept in the workspace, least confident first); returns the counts.

    Args:
        matrix: the grouping vectors of the workspace's products (rows as ``workspace.products()``).
    """
    from prodsim.review import ReviewStore

    store = ReviewStore(workspace)
    products = workspace.products()
    assignments = store.assignments().merge(store.groups(), on="group_id")
    reviewed = assignments[assignments["status"] == "accepted"]
    row_of = pd.Series(np.arange(len(products)), index=products["id"].astype(str))
    decided = set(assignments["product_id"])
    todo = [pid for pid in arriving_ids if pid in row_of.index and pid not in decided]
    if reviewed.empty or not todo:
        _keep_queue(workspace, pd.DataFrame(columns=QUEUE_COLUMNS))
        return {"arrivals": len(todo), "filed_automatically": 0, "queued": 0, "reviewed_products": len(reviewed)}
    reviewed_rows = row_of.reindex(reviewed["product_id"].astype(str)).dropna().astype(int)
    names = reviewed.set_index("product_id").loc[reviewed_rows.index, "name"].to_numpy()
    filing = file_by_neighbours(matrix[reviewed_rows.to_numpy()], names, matrix[row_of[todo].to_numpy()])
    automatic = filing.automatic(threshold)
    filed = store.file_automatically(dict(zip(np.array(todo)[automatic], filing.category[automatic]))) if automatic.any() else {}
    evidence = reviewed_rows.index.to_numpy()[filing.evidence]
    queue = pd.DataFrame({"id": np.array(todo)[~automatic], "suggested": filing.category[~automatic],
                          "confidence": filing.confidence[~automatic],
                          "evidence": ["|".join(e) for e in evidence[~automatic]]}).sort_values("confidence", kind="stable")
    _keep_queue(workspace, queue)
    return {"arrivals": len(todo), "filed_automatically": int(sum(filed.values())), "queued": len(queue),
            "reviewed_products": len(reviewed), "threshold": threshold}


QUEUE_FILE = "arrivals.parquet"
QUEUE_COLUMNS = ["id", "suggested", "confidence", "evidence"]


def _keep_queue(workspace: Workspace, queue: pd.DataFrame) -> None:
    atomic_write_parquet(workspace.path / QUEUE_FILE, queue.reset_index(drop=True))


def new_arrivals(workspace: Workspace) -> pd.DataFrame:
    """The New arrivals queue of the last update (id, suggested, confidence, evidence ids), least confident first,
    without the products someone has filed since."""
    from prodsim.review import ReviewStore

    path = workspace.path / QUEUE_FILE
    if not path.is_file():
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    queue = pd.read_parquet(path)
    return queue[~queue["id"].isin(set(ReviewStore(workspace).assignments()["product_id"]))].reset_index(drop=True)


__all__ = ["AUTO_FILE_ABOVE", "CatalogDiff", "Filing", "catalog_diff", "file_arrivals", "file_by_neighbours", "new_arrivals", "preview"]
