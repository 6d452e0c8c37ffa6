"""A person's own category tree: loading it into a workspace, filing every product into a leaf, measuring the filing.

Files in the workspace: ``tree/tree.txt`` (the tree as read, one path per line), ``tree/tree.json`` (where it came
from, what was skipped) and ``tree/filing.parquet`` (id, path, confidence, source per product). Decisions about
leaves are ordinary category decisions (``ReviewStore``) whose group name is the leaf's path, so accepting,
moving and undoing work as for suggested groups, and every reviewed product becomes an example of its leaf.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.encoders.base import Encoder
from prodsim.errors import BadInputError, Cancelled
from prodsim.api.review_levels import level_columns
from prodsim.review import ReviewStore
from prodsim.taxonomy.filing import Filing, TreeFiler, TreeView
from prodsim.taxonomy.tree import SEPARATOR, SEPARATORS, CategoryTree, clean_name, read_tree
from prodsim.workspace import Workspace, atomic_write_bytes, atomic_write_json, atomic_write_parquet, check_writable, now_iso

# Below this probability a product's leaf is listed for review.
WEAK_CONFIDENCE = 0.5


def _tree_dir(workspace: Workspace) -> Path:
    return workspace.path / "tree"


def load_tree(workspace: Workspace, data: bytes, filename: str) -> dict:
    """Reads a tree file and keeps it as the workspace's tree (the previous filing is forgotten).

    Raises:
        BadInputError: the file cannot make a tree (see ``read_tree``); the workspace is unchanged.
    """
    check_writable("loading a category tree", "reviewer")
    tree = read_tree(data, filename)
    folder = _tree_dir(workspace)
    folder.mkdir(exist_ok=True)
    (folder / "filing.parquet").unlink(missing_ok=True)
    atomic_write_bytes(folder / "tree.txt", tree.to_text().encode("utf-8"))
    atomic_write_json(folder / "tree.json", {"source": Path(filename).name, "loaded": now_iso(), "leaves": len(tree.paths),
                                             "levels": tree.level_counts(), "skipped": list(tree.skipped)})
    workspace.record("load tree", {"source": Path(filename).name, "leaves": len(tree.paths)})
    return tree_summary(tree)


def tree_details(workspace: Workspace) -> dict:
    """Where the workspace's tree came from and when it was loaded and last used for filing ({} without a tree)."""
    path = _tree_dir(workspace) / "tree.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def tree_summary(tree: CategoryTree) -> dict:
    return {"leaves": len(tree.paths), "depth": tree.depth, "levels": tree.level_counts(), "skipped": list(tree.skipped)}


def category_tree(workspace: Workspace) -> CategoryTree | None:
    """The workspace's tree, or None before one is loaded (parsed once per file version per process)."""
    path = _tree_dir(workspace) / "tree.txt"
    if not path.exists():
        return None
    stat = path.stat()
    return _parsed_tree(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _parsed_tree(path: str, mtime_ns: int, size: int) -> CategoryTree:
    return read_tree(Path(path).read_bytes(), "tree.txt")


def _tree_key(tree: CategoryTree, workspace: Workspace) -> str:
    return hashlib.sha1((tree.to_text() + repr(workspace.products_version())).encode()).hexdigest()


def _leaf_decisions(workspace: Workspace, tree: CategoryTree) -> pd.DataFrame:
    """Decisions that put products into a leaf, indexed by product id: leaf (index into the tree's leaves), source."""
    store = ReviewStore(workspace)
    groups = store.groups()
    leaf_index = {leaf: i for i, leaf in enumerate(tree.leaves)}
    leaf_of_group = groups[groups["status"] == "accepted"].set_index("group_id")["name"].map(leaf_index).dropna()
    decided = store.assignments()
    decided = decided[decided["group_id"].isin(leaf_of_group.index)]
    return pd.DataFrame({"leaf": decided["group_id"].map(leaf_of_group).astype(np.int64).to_numpy(),
                         "source": decided["source"].to_numpy()}, index=decided["product_id"].astype(str).to_numpy())


def leaf_examples(workspace: Workspace, tree: CategoryTree) -> dict[int, int]:
    """Product row -> leaf index for products a person accepted into or moved to a leaf."""
    decided = _leaf_decisions(workspace, tree)
    rows = pd.Series(np.arange(len(workspace.products())), index=workspace.products()["id"].astype(str)).reindex(decided.index)
    return {int(row): int(leaf) for row, leaf in zip(rows, decided["leaf"]) if pd.notna(row)}


def file_into_tree(workspace: Workspace, text_encoders: list[Encoder], features: np.ndarray,
                   progress: Callable[[str, int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Filing:
    """Files every product into the workspace's tree and keeps the result (``tree/filing.parquet``).

    Args:
        text_encoders: the models whose scores are added (see ``prodsim.taxonomy.filing``).
        features: the grouping vectors (``api.grouping_vectors``).

    Raises:
        BadInputError: no tree has been loaded.
        Cancelled: ``should_stop`` said so between models; nothing is written then.
    """
    from prodsim.api.grouping import grouping_template
    from prodsim.api.products import embed

    tree = category_tree(workspace)
    if tree is None:
        raise BadInputError("Load a category tree first (a text or CSV file with one path per line, 'A > B > C').")
    template = grouping_template(workspace)
    names = [node[-1] for node in tree.nodes()]
    views = []
    for number, encoder in enumerate(text_encoders):
        if should_stop and should_stop():
            raise Cancelled("Filing stopped; the product vectors read so far are kept.")
        if progress:
            progress(f"Reading products with {encoder.label}", number, len(text_encoders))
        vectors, _ = embed(workspace, encoder, use_images=False, template=template, should_stop=should_stop)
        views.append(TreeView(vectors.text, encoder.encode(tree.leaves), encoder.encode(names)))
    if progress:
        progress("Filing products into the tree", 0, 1)
    filing = TreeFiler().file(tree, views, features, leaf_examples(workspace, tree))
    frame = pd.DataFrame({"id": workspace.products()["id"].astype(str).to_numpy(), "path": filing.paths(),
                          "confidence": filing.confidence.round(4),
                          "source": np.where(filing.reviewed, "reviewed", "filed")})
    atomic_write_parquet(_tree_dir(workspace) / "filing.parquet", frame)
    atomic_write_json(_tree_dir(workspace) / "tree.json", tree_details(workspace) | {"filed": now_iso(),
                                                                                     "filing_of": _tree_key(tree, workspace)})
    if progress:
        progress("Filing products into the tree", 1, 1)
    return filing


def stored_filing(workspace: Workspace) -> pd.DataFrame | None:
    """The kept filing of the current products into the current tree (None before one, or after either changed)."""
    folder = _tree_dir(workspace)
    tree = category_tree(workspace)
    if tree is None or not (folder / "filing.parquet").exists():
        return None
    if tree_details(workspace).get("filing_of") != _tree_key(tree, workspace):
        return None
    return pd.read_parquet(folder / "filing.parquet")


def split_path(text: str) -> list[str]:
    """A path written with any accepted separator, as its cleaned names in lower case (for comparing)."""
    text = str(text)
    separator = next((s for s in SEPARATORS if s in text), None)
    parts = text.split(separator) if separator else [text]
    return [clean_name(part).casefold() for part in parts if clean_name(part)]


def level_accuracy(filed_paths, true_paths, depth: int) -> dict[str, float | None]:
    """Share of products whose first L names agree, per level L (over products whose true path has L levels)."""
    filed = [split_path(p) for p in filed_paths]
    truth = [split_path(p) if isinstance(p, str) and p.strip() else [] for p in true_paths]
    accuracy = {}
    for level in range(1, depth + 1):
        pairs = [(f[:level], t[:level]) for f, t in zip(filed, truth) if len(t) >= level]
        accuracy[f"level_{level}"] = round(float(np.mean([f == t for f, t in pairs])), 4) if pairs else None
    return accuracy


def file_into(workspace: Workspace, tree_file: str | Path, truth_col: str | None = None,
              text_encoders: list[Encoder] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Loads a tree file, files every product into it and says how it went (``python -m prodsim file-into``).

    Returns:
        products, leaves, levels, filed (by prodsim), reviewed_examples, weak (confidence below WEAK_CONFIDENCE),
        skipped_tree_lines, seconds and, with ``truth_col`` (true paths, or their first levels), ``accuracy`` per
        level over the products prodsim filed (reviewed ones are left out: they are right by definition).
    """
    from prodsim.api.grouping import grouping_vectors, truth_column

    started = time.perf_counter()
    tree_file = Path(tree_file)
    if not tree_file.is_file():
        raise BadInputError(f"There is no tree file at {tree_file}.")
    truth = truth_column(workspace, truth_col) if truth_col else None  # a wrong column is refused before any work
    summary = load_tree(workspace, tree_file.read_bytes(), tree_file.name)
    filing = file_into_tree(workspace, text_encoders or filing_encoders(workspace), grouping_vectors(workspace),
                            progress=progress)
    filed = ~filing.reviewed
    result = {"products": len(filing.leaf), "leaves": summary["leaves"], "levels": summary["levels"],
              "filed": int(filed.sum()), "reviewed_examples": int(filing.reviewed.sum()),
              "weak": int((filing.confidence[filed] < WEAK_CONFIDENCE).sum()), "skipped_tree_lines": summary["skipped"]}
    if truth is not None:
        result["accuracy"] = level_accuracy(filing.paths()[filed], truth.to_numpy()[filed], summary["depth"])
    return result | {"seconds": round(time.perf_counter() - started, 1)}


def filing_encoder_specs(workspace: Workspace) -> list[str]:
    """The models filing adds: the workspace's text model and the multilingual one (once, when they are the same)."""
    from prodsim.api.products import model_specs
    from prodsim.encoders.registry import MULTILINGUAL_TEXT

    return list(dict.fromkeys([model_specs(workspace)[0], MULTILINGUAL_TEXT]))


def filing_encoders(workspace: Workspace) -> list[Encoder]:
    from prodsim.encoders.registry import load_text_encoder

    return [load_text_encoder(spec) for spec in filing_encoder_specs(workspace)]


def tree_assignment(workspace: Workspace, tree: CategoryTree, filing: pd.DataFrame) -> pd.DataFrame:
    """Each product's leaf now: a person's decision into a leaf first, else the kept filing.

    Returns:
        id, title, path, leaf (index into the tree's leaves), confidence, source ("filed", "reviewed" or "moved"),
        row (in the product table).
    """
    decided = _leaf_decisions(workspace, tree)
    ids = filing["id"].astype(str)
    person = ids.map(decided["leaf"])
    leaf = person.fillna(filing["path"].map({leaf: i for i, leaf in enumerate(tree.leaves)})).astype(np.int64).to_numpy()
    return pd.DataFrame({"id": ids.to_numpy(), "title": workspace.products()["title"].to_numpy(),
                         "path": np.asarray(tree.leaves, dtype=object)[leaf], "leaf": leaf,
                         "confidence": np.where(person.notna(), 1.0, filing["confidence"].to_numpy()),
                         "source": ids.map(decided["source"]).fillna("filed").to_numpy(),
                         "row": np.arange(len(filing))})


def tree_overview(tree: CategoryTree, assignment: pd.DataFrame) -> pd.DataFrame:
    """Every node with its products (its leaves' together): node (path text), name, level, parent, products,
    reviewed, weak (filed below WEAK_CONFIDENCE), confidence (mean), leaf (no children); parents before children."""
    leaf = assignment["leaf"].to_numpy()
    count = np.bincount(leaf, minlength=len(tree.paths))
    reviewed = np.bincount(leaf, weights=(assignment["source"] != "filed").to_numpy(), minlength=len(tree.paths))
    weak = np.bincount(leaf, weights=((assignment["source"] == "filed") & (assignment["confidence"] < WEAK_CONFIDENCE)).to_numpy(),
                       minlength=len(tree.paths))
    confidence = np.bincount(leaf, weights=assignment["confidence"].to_numpy(), minlength=len(tree.paths))
    totals: dict[tuple[str, ...], np.ndarray] = {node: np.zeros(4) for node in tree.nodes()}
    leaves = set(tree.paths)
    for i, path in enumerate(tree.paths):
        for level in range(1, len(path) + 1):
            totals[path[:level]] += (count[i], reviewed[i], weak[i], confidence[i])
    return pd.DataFrame([{"node": SEPARATOR.join(node), "name": node[-1], "level": len(node),
                          "parent": SEPARATOR.join(node[:-1]), "leaf": node in leaves, "products": int(t[0]), "reviewed": int(t[1]), "weak": int(t[2]),
                          "confidence": t[3] / t[0] if t[0] else float("nan")} for node, t in totals.items()])


def rows_under(tree: CategoryTree, assignment: pd.DataFrame, node: str) -> np.ndarray:
    """Rows of ``assignment`` whose leaf is ``node`` or below it."""
    names = tuple(node.split(SEPARATOR))
    below = [i for i, path in enumerate(tree.paths) if path[:len(names)] == names]
    return np.flatnonzero(np.isin(assignment["leaf"].to_numpy(), below))


def accept_tree_node(workspace: Workspace, tree: CategoryTree, assignment: pd.DataFrame, node: str,
                     seen: int | None = None) -> dict[str, int]:
    """Accepts a node: every product filed under it that nobody reviewed is accepted into its own leaf (one
    undoable decision). Returns leaf -> how many products it took."""
    rows = rows_under(tree, assignment, node)
    picked = assignment.iloc[rows]
    return ReviewStore(workspace).accept_under(node, dict(zip(picked["id"], picked["path"])), seen=seen)


def tree_group_names(labels: np.ndarray, filed_paths, share: float = 0.5) -> dict[int, str]:
    """Names groups by the user's tree: the deepest path that more than ``share`` of a group's products were filed
    under (level by level, the most common node below the last one chosen); groups with no such path are left out."""
    split = pd.Series(filed_paths).astype(str).str.split(SEPARATOR, regex=False)
    lengths = split.str.len()
    prefixes = pd.DataFrame({level: split.str[:level].str.join(SEPARATOR).where(lengths >= level)
                             for level in range(1, int(lengths.max()) + 1)})
    names = {}
    for group, rows in pd.Series(np.arange(len(split))).groupby(np.asarray(labels)):
        chosen = None
        for level in prefixes.columns:
            column = prefixes[level].iloc[rows.to_numpy()]
            if chosen is not None:
                column = column[prefixes[level - 1].iloc[rows.to_numpy()] == chosen]
            counts = column.value_counts()
            if counts.empty or counts.iloc[0] <= share * len(rows):
                break
            chosen = counts.index[0]
        if chosen is not None:
            names[int(group)] = chosen
    return names


def find_leaves(tree: CategoryTree, query: str, limit: int = 50) -> list[str]:
    """Leaves whose path holds every typed word (case ignored), shortest first; never every leaf of a large tree."""
    words = query.casefold().split()
    hits = [leaf for leaf in tree.leaves if all(word in leaf.casefold() for word in words)]
    return sorted(hits, key=len)[:limit]


def tree_export(tree: CategoryTree, assignment: pd.DataFrame) -> pd.DataFrame:
    """The export: id, title, path ("A > B > C"), one column per level, confidence, source."""
    frame = pd.concat([assignment[["id", "title", "path"]], level_columns(assignment["path"], tree.depth)], axis=1)
    return frame.assign(confidence=assignment["confidence"].round(3), source=assignment["source"])
