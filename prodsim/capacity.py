"""Whether a catalog fits this machine's memory, asked before a reading pass starts.

A reading pass that runs out of memory after an hour helps nobody; refusing at the start with the
size it needs and the way out (the batch job, then attach its vectors) does. The estimate follows
what the server holds per product once its pages are open, measured with ``bench/app_scale.py``:
at 1M products, 384-d text only, 7.6 GB of which 0.9 GB were the models, so about 6.7 KB per
product: three float32 copies of its vector (store, the pages' matrix, an index), its lexical
views and its row in the product table.
"""

from __future__ import annotations

import os

from prodsim.errors import BadInputError

MODELS_BYTES = 1.5e9  # models, runtimes and the app itself
VECTOR_COPIES = 3
OTHER_BYTES_PER_PRODUCT = 2_000  # lexical views, product table, map and group labels
HEADROOM = 0.85  # what of the free memory a pass may plan to use


def bytes_needed(products: int, vector_dims: int) -> int:
    """Estimated server memory to read and show a catalog of ``products`` with vectors of ``vector_dims`` in total."""
    return int(MODELS_BYTES + products * (VECTOR_COPIES * 4 * vector_dims + OTHER_BYTES_PER_PRODUCT))


def available_bytes() -> int:
    """Memory this process may still use: free memory, or ``PRODSIM_MEMORY_GB`` when the operator sets a budget."""
    budget = os.environ.get("PRODSIM_MEMORY_GB")
    if budget:
        return int(float(budget) * 1e9)
    import psutil

    return int(psutil.virtual_memory().available)


def check_fits(products: int, vector_dims: int) -> None:
    """Refuses a reading pass that would not fit in memory, before any work.

    Raises:
        BadInputError: with the size needed, what is free, and what to do instead.
    """
    needed, free = bytes_needed(products, vector_dims), available_bytes()
    if needed > HEADROOM * free:
        raise BadInputError(
            f"{products:,} products need about {needed / 1e9:.1f} GB of memory on this server to be read and shown; "
            f"{free / 1e9:.1f} GB is free. Nothing was started. Read them with the batch job on a larger machine or a "
            "cluster (`python -m prodsim embed --engine ray --input FILES --out DIR`), then attach the vectors "
            "(`python -m prodsim attach-vectors`), or split the catalog into several workspaces.")


__all__ = ["bytes_needed", "check_fits"]
