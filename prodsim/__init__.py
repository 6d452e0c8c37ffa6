"""prodsim: product similarity for merchandisers.

The package root stays light: importing it pulls in neither Streamlit nor torch. The
documented entry points live in :mod:`prodsim.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"
