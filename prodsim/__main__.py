"""Entry point for ``python -m prodsim``."""

from __future__ import annotations

import sys

from prodsim.cli import main

sys.exit(main())
