"""Reducers: what product vectors are reduced to before groups are found or a map is drawn."""

from prodsim.reduction.base import NoReduction, Reducer
from prodsim.reduction.umap import UMAPReducer

__all__ = ["NoReduction", "Reducer", "UMAPReducer"]
