"""UMAP and HDBSCAN on the GPU through RAPIDS cuML when it is installed, else the CPU libraries.

cuML's estimators take the same arguments as umap-learn's and hdbscan's for what prodsim uses.
Vectors are unit rows, so cuML runs on Euclidean distance, which orders neighbours exactly as
cosine does. ``PRODSIM_NO_CUML=1`` keeps the CPU libraries even where cuML is present.
"""

from __future__ import annotations

import importlib
import os


def _cuml():
    """The cuml module when it is importable and a GPU is visible, else None."""
    if os.environ.get("PRODSIM_NO_CUML"):
        return None
    try:
        cuml = importlib.import_module("cuml")
    except ImportError:
        return None
    try:
        import torch

        return cuml if torch.cuda.is_available() else None
    except ImportError:
        return cuml


def umap_reducer(**settings):
    """A UMAP estimator (cuML's on a GPU); ``settings`` as umap.UMAP takes them, metric cosine."""
    cuml = _cuml()
    if cuml is not None:
        return cuml.UMAP(**(settings | {"metric": "euclidean"}))
    import umap

    return umap.UMAP(**settings)


def hdbscan_clusterer(**settings):
    """An HDBSCAN estimator (cuML's on a GPU)."""
    cuml = _cuml()
    if cuml is not None:
        return cuml.cluster.hdbscan.HDBSCAN(**settings)
    import hdbscan

    return hdbscan.HDBSCAN(**settings)


def backend() -> str:
    """'cuML (GPU)' or 'umap-learn/hdbscan (CPU)', for captions and benchmark output."""
    return "cuML (GPU)" if _cuml() is not None else "umap-learn/hdbscan (CPU)"
