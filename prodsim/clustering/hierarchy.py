"""Suggested groups at several levels: the grouping pipeline's groups on top, each split into its own sub-groups below.

A level's groups are about ``branching`` times smaller than their parents: every group of the level above is
split by k-means on its members' grouping vectors (k from its size), so a child always lies inside its parent and
each product has one path ("kettle · cordless > steel · litre"). Levels stop where groups would fall under
``min_group`` products, and at ``max_levels``. Names compare siblings only (what tells this sub-group from the
others under the same parent), leave out the words of the names above and are unique among siblings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prodsim.naming import ClassTfidfNamer
from prodsim.review import SEPARATOR


@dataclass(frozen=True)
class GroupLevels:
    """Groups per level, level 1 the coarsest.

    Attributes:
        labels: one (n,) array per level; group numbers are unique within their level.
        parents: one array per level: the parent group (at the level above) of each group; empty for level 1.
        names: one dict per level: group number -> name (its own words, not its parent's).
    """

    labels: list[np.ndarray]
    parents: list[np.ndarray]
    names: list[dict[int, str]]

    @property
    def depth(self) -> int:
        return len(self.labels)

    def path_names(self, level: int) -> dict[int, str]:
        """Group number at ``level`` (1-based) -> its whole path of names ("A > B")."""
        paths = dict(self.names[0])
        for depth in range(1, level):
            paths = {group: paths[int(parent)] + SEPARATOR + self.names[depth][group]
                     for group, parent in enumerate(self.parents[depth])}
        return paths

    def paths(self, level: int) -> np.ndarray:
        """Each product's path of names down to ``level``."""
        names = self.path_names(level)
        table = np.array([names.get(group, "") for group in range(int(self.labels[level - 1].max()) + 1)], dtype=object)
        return table[self.labels[level - 1]]


def group_levels(vectors: np.ndarray, texts: list[str], top_labels: np.ndarray, top_names: dict[int, str],
                 branching: int = 4, max_levels: int = 3, min_group: int = 5, sample: int = 5000,
                 seed: int = 42) -> GroupLevels:
    """Splits the top groups into levels below them (see the module).

    Args:
        vectors: (n, d) the grouping vectors (unit rows).
        texts: the naming texts, one per product.
        top_labels, top_names: level 1, the grouping pipeline's groups.
        sample: k-means is fitted on at most this many members of a group; the rest go to the nearest centre.
    """
    labels, parents, names = [np.asarray(top_labels, np.int64)], [np.empty(0, np.int64)], [dict(top_names)]
    texts = np.asarray(texts, dtype=object)
    rng = np.random.default_rng(seed)
    while len(labels) < max_levels:
        above = labels[-1]
        ancestry = GroupLevels(labels, parents, names).path_names(len(labels))  # a group's names from the top down
        sizes = np.bincount(above)
        target = np.median(sizes[sizes > 0]) / branching
        if target < min_group:
            break
        level = np.empty(len(above), np.int64)
        level_parents, level_names = [], {}
        for group in np.flatnonzero(sizes):
            rows = np.flatnonzero(above == group)
            parts = _split(vectors[rows], int(round(sizes[group] / target)), rng, sample, seed)
            first = len(level_parents)
            level[rows] = parts + first
            level_parents += [group] * (int(parts.max()) + 1)
            for part, name in _sibling_names(texts[rows].tolist(), parts, ancestry.get(int(group), "")).items():
                level_names[first + part] = name
        labels.append(level)
        parents.append(np.asarray(level_parents, np.int64))
        names.append(level_names)
    return GroupLevels(labels, parents, names)


def _split(vectors: np.ndarray, k: int, rng, sample: int, seed: int) -> np.ndarray:
    """Part per row (0..k-1, every part used); one part when the group is too small or too alike to split."""
    from sklearn.cluster import KMeans

    k = min(k, len(vectors))
    if k < 2 or np.allclose(vectors, vectors[0], atol=1e-6):
        return np.zeros(len(vectors), np.int64)
    fit_rows = rng.choice(len(vectors), sample, replace=False) if len(vectors) > sample else np.arange(len(vectors))
    centres = KMeans(k, n_init=4, random_state=seed).fit(vectors[fit_rows]).cluster_centers_
    nearest = np.concatenate([np.argmax(vectors[start:start + 50_000] @ centres.T - 0.5 * (centres ** 2).sum(axis=1), axis=1)
                              for start in range(0, len(vectors), 50_000)])
    return np.unique(nearest, return_inverse=True)[1].astype(np.int64)  # parts renumbered, none empty


def _sibling_names(texts: list[str], parts: np.ndarray, ancestry: str) -> dict[int, str]:
    """Two distinctive words per part against its siblings, none of its ancestors'; a repeated name gets a number."""
    parent_words = set(ancestry.replace("·", " ").replace(">", " ").split())
    raw = ClassTfidfNamer(top=2 + len(parent_words)).name(texts, parts)
    names, seen = {}, {}
    for part in sorted(raw):
        words = [w for w in raw[part].split(" · ") if w not in parent_words][:2]
        name = " · ".join(words) or f"part {part + 1}"
        seen[name] = seen.get(name, 0) + 1
        names[part] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return names
