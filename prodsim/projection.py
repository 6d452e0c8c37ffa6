"""2-D (or 3-D) maps of product vectors with UMAP, cached in the workspace.

Large catalogs get a first map fast: UMAP is fitted on a sample of 5,000 products and every
other product is placed at the similarity-weighted mean of its 10 nearest sampled products
(:func:`place_by_neighbours`, which also places new products later without a refit). At 100k
clustered vectors this takes 11 s and preserves neighbourhoods better than a full UMAP fit
(trustworthiness 0.91 vs 0.78: UMAP gives small sets 500 epochs, large ones 200), so there is
no slower "refine" pass; see ``bench/projection.py``.
numba compiles UMAP on first use (40-90 s on 2 cores); the compiled code is cached on disk
(``NUMBA_CACHE_DIR``) and :func:`warm_up` lets the app pay that cost in the background.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prodsim.errors import BadInputError
from prodsim.vector_cache import array_key
from prodsim.workspace import Workspace, atomic_write_bytes

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "prodsim" / "numba"))
FIT_SAMPLE = 5_000
PLACEMENT_NEIGHBOURS = 10
MIN_PRODUCTS = 5


@dataclass(frozen=True)
class ProjectionConfig:
    """UMAP settings; part of the cache key."""

    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    fit_sample: int = FIT_SAMPLE
    seed: int = 42


def _all_identical(vectors: np.ndarray, block: int = 50_000) -> bool:
    """True when every row equals the first (checked a block at a time: no (n, d) temporary)."""
    return all(np.allclose(vectors[start:start + block], vectors[0], atol=1e-6) for start in range(0, len(vectors), block))


def _check(vectors: np.ndarray) -> None:
    if len(vectors) < MIN_PRODUCTS:
        raise BadInputError(f"A map needs at least {MIN_PRODUCTS} products; this catalog has {len(vectors)}.")
    if _all_identical(vectors):
        raise BadInputError("Every product has the same vector (identical texts and photos), so there is nothing to map. "
                            "Check that the title column holds the product names.")


# numba's default threading layer (workqueue) may not be entered by two threads at once (numba terminates the
# process when it is): one fit at a time in a process, such as the app's warm-up and a job drawing a map.
_ONE_UMAP_AT_A_TIME = threading.Lock()


def umap_project(vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """Reduces (n, d) unit vectors to (n, n_components) with cosine UMAP.

    Above ``config.fit_sample`` rows, UMAP is fitted on a random sample and the rest are
    placed by :func:`place_by_neighbours`.

    Raises:
        BadInputError: fewer than MIN_PRODUCTS rows, or all rows identical.
    """
    from prodsim.accelerated import umap_reducer

    _check(vectors)
    n_neighbors = min(config.n_neighbors, len(vectors) - 1)
    sampled = len(vectors) > config.fit_sample
    # A fitted sample gets 200 epochs, as UMAP gives large sets (it gives 500 below 10k rows): 2x faster on 5k rows.
    reducer = umap_reducer(n_components=config.n_components, n_neighbors=n_neighbors, min_dist=config.min_dist,
                           metric="cosine", random_state=config.seed, init="spectral" if len(vectors) > 50 else "random",
                           **({"n_epochs": 200} if sampled else {}))
    with _ONE_UMAP_AT_A_TIME, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # a seed means one thread
        if not sampled:
            return reducer.fit_transform(vectors).astype(np.float32)
        sample, rest, weights, nearest = sample_neighbours(vectors, config.fit_sample, config.seed)
        out = np.empty((len(vectors), config.n_components), dtype=np.float32)
        out[sample] = reducer.fit_transform(vectors[sample])
        out[rest] = np.einsum("nk,nkc->nc", weights, out[sample][nearest])
    return out


_NEIGHBOURS: dict[tuple, tuple] = {}


def sample_neighbours(vectors: np.ndarray, size: int, seed: int, k: int = PLACEMENT_NEIGHBOURS):
    """(sample rows, other rows, weights (m, k), nearest sample positions (m, k)) for placing the others.

    Kept for the last catalog in this process, so the 2-D map and the 5-D space of the groups,
    both fitted on the same sample, search the neighbours once.
    """
    key = (array_key(vectors), size, seed, k)
    if key not in _NEIGHBOURS:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(len(vectors), size, replace=False))
        rest = np.setdiff1d(np.arange(len(vectors)), sample)
        _NEIGHBOURS.clear()
        _NEIGHBOURS[key] = (sample, rest, *neighbour_weights(vectors[sample], vectors[rest], k))
    return _NEIGHBOURS[key]


def neighbour_weights(mapped_vectors: np.ndarray, vectors: np.ndarray, k: int = PLACEMENT_NEIGHBOURS):
    """(weights (m, k) summing to 1, positions (m, k) in ``mapped_vectors``) of each vector's nearest mapped products.

    Weights are cosine similarity to the fourth power, so the closest products dominate and a
    product between two groups lands between them.
    """
    from prodsim.index import search_in_blocks
    from prodsim.index.hnsw import HNSWIndex

    k = min(k, len(mapped_vectors))
    index = HNSWIndex(neighbours=32, ef_construction=64, ef_search=48).fit(mapped_vectors)
    scores, rows = search_in_blocks(index, vectors, k, block=20_000)
    weights = np.maximum(scores, 0.0) ** 4 + 1e-9
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32), np.maximum(rows, 0)


def place_by_neighbours(mapped_vectors: np.ndarray, mapped_coordinates: np.ndarray, vectors: np.ndarray,
                        k: int = PLACEMENT_NEIGHBOURS) -> np.ndarray:
    """Map positions for new vectors: the weighted mean of their nearest already-mapped products (see neighbour_weights)."""
    weights, rows = neighbour_weights(mapped_vectors, vectors, k)
    return np.einsum("nk,nkc->nc", weights, mapped_coordinates[rows]).astype(np.float32)


def _projection_path(workspace: Workspace, vectors: np.ndarray, config: ProjectionConfig) -> Path:
    return workspace.path / "projections" / f"{array_key(vectors, config)}.npy"


def stored_projection(workspace: Workspace, vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray | None:
    """The map kept for these vectors, or None when it was never drawn."""
    path = _projection_path(workspace, vectors, config)
    return np.load(path) if path.is_file() else None


def project_workspace(workspace: Workspace, vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """The workspace's map for these vectors, computed once and then read from ``projections/``."""
    stored = stored_projection(workspace, vectors, config)
    if stored is not None:
        return stored
    path = _projection_path(workspace, vectors, config)
    coordinates = umap_project(vectors, config)
    buffer = io.BytesIO()
    np.save(buffer, coordinates)
    atomic_write_bytes(path, buffer.getvalue())
    return coordinates


def extend_projection(workspace: Workspace, old_vectors: np.ndarray, old_ids: np.ndarray, vectors: np.ndarray, ids: np.ndarray,
                      config: ProjectionConfig = ProjectionConfig()) -> np.ndarray | None:
    """The map of an updated catalog without a refit, kept for its vectors (None when the old catalog had no map).

    Products whose vectors did not change keep their place, so a reviewer's map stays the map they know; new and
    changed products are placed among their nearest products of the old map (:func:`place_by_neighbours`).
    """
    old = stored_projection(workspace, old_vectors, config)
    if old is None:
        return None
    previous = pd.Series(np.arange(len(old_ids)), index=pd.Index(old_ids).astype(str)).reindex(pd.Index(ids).astype(str))
    kept = previous.notna().to_numpy().copy()
    kept[kept] = np.all(np.abs(old_vectors[previous[kept].astype(int).to_numpy()] - vectors[kept]) < 1e-5, axis=1)  # changed: moves
    coordinates = np.empty((len(ids), old.shape[1]), dtype=np.float32)
    coordinates[kept] = old[previous[kept].astype(int).to_numpy()]
    if (~kept).any():
        coordinates[~kept] = place_by_neighbours(old_vectors, old, vectors[~kept])
    buffer = io.BytesIO()
    np.save(buffer, coordinates)
    atomic_write_bytes(_projection_path(workspace, vectors, config), buffer.getvalue())
    return coordinates


def forget_projection(workspace: Workspace, vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> bool:
    """Drops the map kept for these vectors, so the next drawing fits UMAP afresh (a refit a person asked for);
    True when there was one."""
    path = _projection_path(workspace, vectors, config)
    if not path.is_file():
        return False
    path.unlink()
    return True


def warm_up() -> None:
    """Compiles UMAP's numba code, so the first real map is quick.

    5,000 points: below 4,096 UMAP takes exact neighbours and would leave the
    nearest-neighbour descent that real catalogs use uncompiled.
    """
    rng = np.random.default_rng(0)
    points = rng.normal(size=(5000, 16)).astype(np.float32)
    umap_project(points / np.linalg.norm(points, axis=1, keepdims=True), ProjectionConfig(n_neighbors=10, fit_sample=4500))
