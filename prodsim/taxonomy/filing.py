"""Filing products into the leaves of a category tree, without labels first and better with every reviewed product.

Three steps, each computed in chunks of products (never products x leaves for the whole catalog at once):

1. Names: each text model scores a product against every leaf by the whole path ("Home > Kitchen > Kettles")
   and by the mean of its nodes' own names. Product rows and name rows are each centred on their own mean before
   the cosine, which takes out what every product text shares (shop boilerplate, "Buy ... at best price"), and
   the models' scores are added: an English sentence model and the multilingual one make different mistakes.
2. The catalog: the products each leaf wins most clearly (``confident_share`` of its winners, by margin over the
   runner-up) make a centroid of the grouping vectors (text and photo); a leaf with MIN_EXAMPLES products people
   filed into it is described by those alone. A product's final log-probability mixes the names' and the
   centroids' (softmax with their temperatures), the centroids counting more as more leaves are described by
   people. Products whose names say little (a router titled "Tenda A5") are filed by the products they look and
   read like.
3. Reviewed products keep the leaf a person gave them, with confidence 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from prodsim.taxonomy.tree import CategoryTree

# Leaf-score cells held at once (chunk rows x leaves): about 200 MB of float32.
SCORE_CELLS = 50_000_000
# A leaf with this many reviewed products is described by them alone: people's filing beats the names' guesses.
MIN_EXAMPLES = 3
# The centroids' share of the final score once every leaf has MIN_EXAMPLES reviewed products.
REVIEWED_WEIGHT = 0.9


@dataclass(frozen=True)
class TreeView:
    """One text model's vectors: of the products and of the tree's names (unit rows of the same model).

    Attributes:
        products: (n, d) product rows in product-table order.
        leaf_paths: (L, d) each leaf's whole path, in ``CategoryTree.leaves`` order.
        node_names: (N, d) each node's own name, in ``CategoryTree.nodes()`` order.
    """

    products: np.ndarray
    leaf_paths: np.ndarray
    node_names: np.ndarray


@dataclass(frozen=True)
class Filing:
    """Where each product went.

    Attributes:
        leaves: the tree's leaf paths as text.
        leaf: (n,) index into ``leaves`` per product.
        confidence: (n,) probability of that leaf (1 for reviewed products).
        reviewed: (n,) True where a person chose the leaf.
    """

    leaves: list[str]
    leaf: np.ndarray
    confidence: np.ndarray
    reviewed: np.ndarray

    def paths(self) -> np.ndarray:
        return np.asarray(self.leaves, dtype=object)[self.leaf]


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _log_softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    scaled = (scores - scores.max(axis=1, keepdims=True)) / temperature
    return scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))


class TreeFiler:
    """Files products into a tree's leaves (see the module's three steps).

    Args:
        path_weight: share of the whole-path score beside the mean of the node names' scores.
        name_temperature, centroid_temperature: softmax temperatures of the two scores (cosines, so small).
        centroid_weight: the centroids' share of the final log-probability before anything is reviewed.
        confident_share: which share of each leaf's winners (most clearly won first) make its centroid.
    """

    def __init__(self, path_weight: float = 0.5, name_temperature: float = 0.02, centroid_temperature: float = 0.05,
                 centroid_weight: float = 0.5, confident_share: float = 0.3):
        self.path_weight = path_weight
        self.name_temperature = name_temperature
        self.centroid_temperature = centroid_temperature
        self.centroid_weight = centroid_weight
        self.confident_share = confident_share

    def file(self, tree: CategoryTree, views: list[TreeView], features: np.ndarray,
             examples: dict[int, int] | None = None) -> Filing:
        """Files every product.

        Args:
            views: one per text model (at least one).
            features: (n, d) the grouping vectors (unit rows) the centroids are made of.
            examples: product row -> leaf index, for products a person filed.
        """
        examples = examples or {}
        n, leaves = len(features), len(tree.paths)
        scorers = [self._name_scorer(tree, view) for view in views]
        chunk = max(256, SCORE_CELLS // leaves)
        best, margin = np.empty(n, np.int64), np.empty(n, np.float32)
        for start in range(0, n, chunk):
            scores = self._name_scores(scorers, start, start + chunk)
            top = np.argsort(scores, axis=1)[:, -2:] if leaves > 1 else np.zeros((len(scores), 2), np.int64)
            rows = np.arange(len(scores))
            best[start:start + chunk] = top[:, -1]
            margin[start:start + chunk] = scores[rows, top[:, -1]] - scores[rows, top[:, 0]]
        centroids, reviewed_leaves = self._centroids(best, margin, features, examples, leaves)
        # The more leaves people have described with products, the more the catalog's evidence counts.
        weight = self.centroid_weight + (REVIEWED_WEIGHT - self.centroid_weight) * reviewed_leaves.mean()
        leaf, confidence = np.empty(n, np.int64), np.empty(n, np.float32)
        for start in range(0, n, chunk):  # the names' scores again: keeping them would hold n x leaves at once
            by_names = _log_softmax(self._name_scores(scorers, start, start + chunk), self.name_temperature)
            by_catalog = _log_softmax(features[start:start + chunk] @ centroids.T, self.centroid_temperature)
            combined = (1 - weight) * by_names + weight * by_catalog
            probabilities = np.exp(combined - combined.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            leaf[start:start + chunk] = probabilities.argmax(axis=1)
            confidence[start:start + chunk] = probabilities.max(axis=1)
        reviewed = np.zeros(n, bool)
        if examples:
            rows = np.fromiter(examples, np.int64)
            leaf[rows] = np.fromiter(examples.values(), np.int64)
            confidence[rows] = 1.0
            reviewed[rows] = True
        return Filing(tree.leaves, leaf, confidence, reviewed)

    def _name_scorer(self, tree: CategoryTree, view: TreeView):
        """What one model needs to score a chunk: centred products, centred leaf paths, centred node names and the
        (nodes x leaves) matrix that averages a leaf's nodes."""
        nodes = {node: i for i, node in enumerate(tree.nodes())}
        rows, cols, values = [], [], []
        for leaf, path in enumerate(tree.paths):
            for level in range(1, len(path) + 1):
                rows.append(nodes[path[:level]])
                cols.append(leaf)
                values.append(1.0 / len(path))
        average = sparse.csr_matrix((values, (rows, cols)), shape=(len(nodes), len(tree.paths)), dtype=np.float32)
        return (view.products, view.products.mean(axis=0), _unit(view.leaf_paths - view.leaf_paths.mean(axis=0)),
                _unit(view.node_names - view.node_names.mean(axis=0)), average)

    def _name_scores(self, scorers, start: int, stop: int) -> np.ndarray:
        total = None
        for products, mean, leaf_paths, node_names, average in scorers:
            rows = _unit(products[start:stop] - mean)
            by_nodes = np.asarray((rows @ node_names.T) @ average)
            scores = self.path_weight * (rows @ leaf_paths.T) + (1 - self.path_weight) * by_nodes
            total = scores if total is None else total + scores
        return total.astype(np.float32)

    def _centroids(self, best: np.ndarray, margin: np.ndarray, features: np.ndarray, examples: dict[int, int],
                   leaves: int) -> np.ndarray:
        """(each leaf's centroid, which leaves are described by reviewed products): the centroid of a leaf's clearest
        winners and its reviewed products, or of the reviewed ones alone when it has MIN_EXAMPLES; a leaf with
        neither gets a zero row (cosine 0 with every product)."""
        chosen = np.zeros(len(best), bool)
        chosen[list(examples)] = True
        undecided = np.flatnonzero(~chosen)
        order = undecided[np.lexsort((-margin[undecided], best[undecided]))]  # by leaf, most clearly won first
        by_leaf = best[order]
        rank = np.arange(len(order)) - np.searchsorted(by_leaf, by_leaf)
        counts = np.bincount(by_leaf, minlength=leaves)
        reviewed_leaves = np.bincount(np.fromiter(examples.values(), np.int64, len(examples)), minlength=leaves) >= MIN_EXAMPLES
        chosen[order[(rank < np.ceil(self.confident_share * counts[by_leaf])) & ~reviewed_leaves[by_leaf]]] = True
        labels = best.copy()
        for row, leaf in examples.items():
            labels[row] = leaf
        members = np.flatnonzero(chosen)
        sums = sparse.csr_matrix((np.ones(len(members), np.float32), (labels[members], members)),
                                 shape=(leaves, len(best))) @ features
        return _unit(np.asarray(sums)).astype(np.float32), reviewed_leaves
