"""2-D (or 3-D) maps of product vectors with UMAP, cached in the workspace.

Large catalogs get a first map fast: UMAP is fitted on a sample and the remaining products
are placed with ``transform`` (the same call places new products later without a refit).
numba compiles UMAP on first use (40-90 s on 2 cores); the compiled code is cached on disk
(``NUMBA_CACHE_DIR``) and :func:`warm_up` lets the app pay that cost in the background.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prodsim.errors import BadInputError
from prodsim.workspace import Workspace, atomic_write_bytes

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "prodsim" / "numba"))
FIT_SAMPLE = 20_000
MIN_PRODUCTS = 5


@dataclass(frozen=True)
class ProjectionConfig:
    """UMAP settings; part of the cache key."""

    n_components: int = 2
    n_neighbors: int = 15
    min_dist: float = 0.1
    fit_sample: int = FIT_SAMPLE
    seed: int = 42


def _check(vectors: np.ndarray) -> None:
    if len(vectors) < MIN_PRODUCTS:
        raise BadInputError(f"A map needs at least {MIN_PRODUCTS} products; this catalog has {len(vectors)}.")
    if np.allclose(vectors, vectors[0], atol=1e-6):
        raise BadInputError("Every product has the same vector (identical texts and photos), so there is nothing to map. "
                            "Check that the title column holds the product names.")


def umap_project(vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """Reduces (n, d) unit vectors to (n, n_components) with cosine UMAP.

    Above ``config.fit_sample`` rows, UMAP is fitted on a random sample and the rest are
    placed with ``transform``.

    Raises:
        BadInputError: fewer than MIN_PRODUCTS rows, or all rows identical.
    """
    import umap

    _check(vectors)
    n_neighbors = min(config.n_neighbors, len(vectors) - 1)
    reducer = umap.UMAP(n_components=config.n_components, n_neighbors=n_neighbors, min_dist=config.min_dist,
                        metric="cosine", random_state=config.seed, init="spectral" if len(vectors) > 50 else "random")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # a seed means one thread
        if len(vectors) <= config.fit_sample:
            return reducer.fit_transform(vectors).astype(np.float32)
        rng = np.random.default_rng(config.seed)
        sample = np.sort(rng.choice(len(vectors), config.fit_sample, replace=False))
        out = np.empty((len(vectors), config.n_components), dtype=np.float32)
        out[sample] = reducer.fit_transform(vectors[sample])
        rest = np.setdiff1d(np.arange(len(vectors)), sample)
        out[rest] = reducer.transform(vectors[rest])
    return out


def vectors_key(vectors: np.ndarray, config: ProjectionConfig) -> str:
    """Cache key of a projection: the vectors' bytes and the settings."""
    digest = hashlib.sha1(np.ascontiguousarray(vectors).tobytes())
    digest.update(repr(config).encode())
    return digest.hexdigest()[:20]


def project_workspace(workspace: Workspace, vectors: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> np.ndarray:
    """The workspace's map for these vectors, computed once and then read from ``projections/``."""
    path = workspace.path / "projections" / f"{vectors_key(vectors, config)}.npy"
    if path.is_file():
        return np.load(path)
    coordinates = umap_project(vectors, config)
    buffer = io.BytesIO()
    np.save(buffer, coordinates)
    atomic_write_bytes(path, buffer.getvalue())
    return coordinates


def warm_up() -> None:
    """Compiles UMAP's numba code, so the first real map is quick.

    5,000 points: below 4,096 UMAP takes exact neighbours and would leave the
    nearest-neighbour descent that real catalogs use uncompiled.
    """
    rng = np.random.default_rng(0)
    points = rng.normal(size=(5000, 16)).astype(np.float32)
    umap_project(points / np.linalg.norm(points, axis=1, keepdims=True), ProjectionConfig(n_neighbors=10, fit_sample=4500))
