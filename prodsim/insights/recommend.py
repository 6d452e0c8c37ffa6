"""Recommendations from a behaviour log: products like the ones a user bought, by content and by co-occurrence.

Two item-to-item similarities, each kept as a sparse top-k list per product:

- *content*: cosine of the workspace's product vectors, so a product nobody has bought yet
  can still be recommended;
- *co-occurrence*: cosine between the sets of users who bought each product.

A user's history is their products weighted by recency (each older order counts
``RECENCY`` times the next one). Each method scores every product as the history-weighted sum
of its similarities; the blend mixes the two after scaling each user's scores to a maximum of 1.
Every method breaks ties by popularity, so the comparison measures the similarities, not the
fallback. Products already bought and service codes are never recommended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from prodsim.insights.behaviour import product_rows, purchases, service_products

NEIGHBOURS = 50  # similar products kept per product and method
RECENCY = 0.7
# Share of the content similarity in the blend. Chosen on Online Retail with the second-to-last order
# of each customer held out (validation), never the last one (test): see bench/insights.py.
DEFAULT_CONTENT_WEIGHT = 0.3
TIE_BREAK = 1e-3  # popularity's share in every method: orders products the similarities leave equal
METHODS = ("popularity", "cooccurrence", "content", "blend")


def _top_k_rows(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Keeps each row's k largest positive entries (sparse throughout: a row of a million products stays its nonzeros)."""
    matrix = matrix.tocsr(copy=True)
    matrix.data[matrix.data < 0] = 0
    matrix.eliminate_zeros()
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((-matrix.data, row_of))  # row by row, largest first
    keep = order[np.arange(len(order)) - matrix.indptr[row_of[order]] < k]
    return sparse.csr_matrix((matrix.data[keep].astype(np.float32), (row_of[keep], matrix.indices[keep])), shape=matrix.shape)


def content_similarity(vectors: np.ndarray, k: int = NEIGHBOURS, rows: np.ndarray | None = None) -> sparse.csr_matrix:
    """Each product's k most similar products by vector cosine (itself excluded), from the catalog's top-k index.

    With ``rows``, only those products' lists are made (the others stay empty): recommendations follow the
    products in someone's history, so a log over a few thousand products never searches a million."""
    from prodsim.index import build_index

    n = len(vectors)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    scores, found = build_index(vectors).search(vectors[rows], k + 1)
    keep = found != rows[:, None]
    keep[keep.all(axis=1), -1] = False  # itself was not among the k + 1 (an identical twin): k others all the same
    keep &= scores > 0
    return sparse.csr_matrix((scores[keep], (rows[np.nonzero(keep)[0]], found[keep])), shape=(n, n))


def cooccurrence_similarity(user_items: sparse.csr_matrix, k: int = NEIGHBOURS) -> sparse.csr_matrix:
    """Each product's k most similar products by the cosine of their buyer sets."""
    bought = (user_items > 0).astype(np.float32)
    counts = np.asarray(bought.sum(axis=0)).ravel()
    together = (bought.T @ bought).tocsr()
    together.setdiag(0)
    norm = np.sqrt(np.maximum(counts, 1))
    return _top_k_rows(sparse.diags(1 / norm) @ together @ sparse.diags(1 / norm), k)


def history_matrix(events: pd.DataFrame, rows: np.ndarray, users: list[str], n_products: int) -> sparse.csr_matrix:
    """Users x products recency weights: a product's weight is that of the latest order it was in."""
    index = pd.Series(np.arange(len(users)), index=users)
    frame = events.assign(row=rows)
    frame = frame[(frame["row"] >= 0) & frame["user"].isin(index.index)]
    order_time = frame.groupby(["user", "order"])["timestamp"].min().reset_index()
    order_time["age"] = order_time.sort_values(["user", "timestamp", "order"]).groupby("user").cumcount(ascending=False)
    frame = frame.merge(order_time[["user", "order", "age"]], on=["user", "order"])
    weights = frame.groupby(["user", "row"])["age"].min().reset_index()
    return sparse.csr_matrix((RECENCY ** weights["age"].to_numpy(dtype=float),
                              (index[weights["user"]].to_numpy(), weights["row"].to_numpy())), shape=(len(users), n_products))


@dataclass
class Recommender:
    """Item similarities and popularity learnt from one log over one catalog."""

    content: sparse.csr_matrix
    cooccurrence: sparse.csr_matrix
    popularity: np.ndarray
    excluded: np.ndarray

    @classmethod
    def fit(cls, events: pd.DataFrame, products: pd.DataFrame, vectors: np.ndarray) -> Recommender:
        """Learns from the log's events (those with a user) and the catalog's product vectors."""
        events = purchases(events)
        rows = product_rows(events, products)
        known = rows >= 0
        users = sorted(events.loc[known, "user"].unique())
        user_of = pd.Series(np.arange(len(users)), index=users)
        user_items = sparse.csr_matrix((np.ones(int(known.sum()), dtype=np.float32),
                                        (user_of[events.loc[known, "user"]].to_numpy(), rows[known])),
                                       shape=(len(users), len(products)))
        popularity = np.asarray((user_items > 0).sum(axis=0)).ravel().astype(np.float32)
        return cls(content_similarity(vectors, rows=np.unique(rows[known])), cooccurrence_similarity(user_items),
                   popularity / max(popularity.max(), 1), service_products(products))

    def scores(self, history: sparse.csr_matrix, method: str, content_weight: float = DEFAULT_CONTENT_WEIGHT) -> np.ndarray:
        """Users x products scores of one method (history: users x products recency weights)."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; one of {METHODS}")

        def scaled(similarity: sparse.csr_matrix) -> np.ndarray:
            values = np.asarray((history @ similarity).todense())
            return values / np.maximum(values.max(axis=1, keepdims=True), 1e-12)

        if method == "popularity":
            total = np.zeros(history.shape, dtype=np.float32)
        elif method == "cooccurrence":
            total = scaled(self.cooccurrence)
        elif method == "content":
            total = scaled(self.content)
        else:
            total = (1 - content_weight) * scaled(self.cooccurrence) + content_weight * scaled(self.content)
        total = total + TIE_BREAK * self.popularity[None, :]
        total[:, self.excluded] = -np.inf
        total[history.nonzero()] = -np.inf
        return total

    def recommend(self, history: pd.DataFrame, k: int = 10, method: str = "blend",
                  content_weight: float = DEFAULT_CONTENT_WEIGHT) -> pd.DataFrame:
        """Top-k products for one user.

        Args:
            history: the user's products: ``row`` (catalog row) and ``weight`` (recency).

        Returns:
            ``row``, ``score``, ``because`` (the history row that contributes most), ``source``
            (content, bought together, or popular).
        """
        n = len(self.popularity)
        vector = sparse.csr_matrix((history["weight"].to_numpy(dtype=float), (np.zeros(len(history), dtype=int),
                                    history["row"].to_numpy())), shape=(1, n))
        total = self.scores(vector, method, content_weight)[0]
        top = np.argsort(-total, kind="stable")[:k]
        top = top[np.isfinite(total[top])]
        weights = history["weight"].to_numpy(dtype=float)[:, None]
        history_rows = history["row"].to_numpy()
        content = weights * self.content[history_rows][:, top].toarray() * (method in ("content", "blend"))
        together = weights * self.cooccurrence[history_rows][:, top].toarray() * (method in ("cooccurrence", "blend"))
        if method == "blend":
            content, together = content_weight * content, (1 - content_weight) * together
        best = np.maximum(content, together)
        because = np.where(best.max(axis=0) > 0, history_rows[best.argmax(axis=0)], -1)
        source = np.where(best.max(axis=0) <= 0, "popular",
                          np.where(content.max(axis=0) >= together.max(axis=0), "similar product", "bought together"))
        return pd.DataFrame({"row": top, "score": total[top], "because": because, "source": source})


def user_history(events: pd.DataFrame, products: pd.DataFrame, user: str) -> pd.DataFrame:
    """One user's products, latest first: ``row``, ``weight``, ``last_bought``, ``quantity``, ``orders``."""
    mine = purchases(events)
    mine = mine[mine["user"] == user]
    rows = product_rows(mine, products)
    weights = history_matrix(mine, rows, [user], len(products))
    mine = mine.assign(row=rows)[rows >= 0]
    table = mine.groupby("row").agg(last_bought=("timestamp", "max"), quantity=("quantity", "sum"), orders=("order", "nunique"))
    table["weight"] = np.asarray(weights[0, table.index].todense()).ravel()
    return table.reset_index().sort_values("last_bought", ascending=False, kind="stable").reset_index(drop=True)


def split_last_order(events: pd.DataFrame, min_orders: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(purchases without each qualifying user's last order, those last orders); users need ``min_orders`` orders."""
    events = purchases(events)
    orders = events.groupby(["user", "order"])["timestamp"].min().reset_index().sort_values(["user", "timestamp", "order"])
    counts = orders.groupby("user")["order"].transform("size")
    last = orders[counts >= min_orders].groupby("user").tail(1)
    hidden = events.merge(last[["user", "order"]], on=["user", "order"], how="left", indicator=True)["_merge"].eq("both").to_numpy()
    return events[~hidden].reset_index(drop=True), events[hidden].reset_index(drop=True)


def evaluate(events: pd.DataFrame, products: pd.DataFrame, vectors: np.ndarray, k: int = 10,
             content_weight: float = DEFAULT_CONTENT_WEIGHT, methods: tuple[str, ...] = METHODS,
             recommender: Recommender | None = None) -> dict:
    """Leave-last-order-out evaluation of each method.

    For every user with at least two orders the last order is hidden; the methods learn from
    everything else and recommend k products the user has not bought before. A hit is a
    hidden product among them; users whose last order holds only products bought before are
    not scored (no method may recommend those) and are counted in ``skipped_users``.

    Returns:
        method -> {"hit_rate", "recall"}, plus ``users``, ``skipped_users``, ``k``.
    """
    train, hidden = split_last_order(events)
    recommender = recommender or Recommender.fit(train, products, vectors)
    train_rows, hidden_rows = product_rows(train, products), product_rows(hidden, products)
    users = sorted(hidden["user"].unique())
    history = history_matrix(train, train_rows, users, len(products))
    hidden_items = sparse.csr_matrix((np.ones(len(hidden)), (pd.Series(np.arange(len(users)), index=users)[hidden["user"]].to_numpy(),
                                                             np.maximum(hidden_rows, 0))), shape=history.shape)
    hidden_items = ((hidden_items > 0).astype(np.float32) - (history > 0).multiply(hidden_items > 0)).tocsr()
    hidden_items = (hidden_items @ sparse.diags((~recommender.excluded).astype(np.float32))).tocsr()
    hidden_items.eliminate_zeros()
    scored = np.flatnonzero(np.asarray(hidden_items.sum(axis=1)).ravel() > 0)
    results: dict = {}
    for method in methods:
        hits, recalls = [], []
        for start in range(0, len(scored), 1024):
            chunk = scored[start:start + 1024]
            total = recommender.scores(history[chunk], method, content_weight)
            top = np.argpartition(-total, k - 1, axis=1)[:, :k]
            truth = hidden_items[chunk]
            found = np.asarray(truth[np.arange(len(chunk))[:, None], top].todense()).sum(axis=1)
            hits.append(found > 0)
            recalls.append(found / np.asarray(truth.sum(axis=1)).ravel())
        results[method] = {"hit_rate": round(float(np.concatenate(hits).mean()), 4),
                           "recall": round(float(np.concatenate(recalls).mean()), 4)}
    return results | {"users": len(scored), "skipped_users": len(users) - len(scored), "k": k, "content_weight": content_weight}
