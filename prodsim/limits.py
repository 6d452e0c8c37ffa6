"""Size limits shared by the app, the CLI and the library.

The upload cap is read from ``.streamlit/config.toml`` (``server.maxUploadSize``, in MB)
so that the browser uploader and the library refuse the same files.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# A ZIP whose contents are more than this many times larger than the archive is refused
# as a likely decompression bomb: real product photos are already compressed.
MAX_ZIP_RATIO = 100


@lru_cache(maxsize=1)
def _streamlit_upload_cap_mb() -> int:
    config = PROJECT_ROOT / ".streamlit" / "config.toml"
    try:
        return int(tomllib.loads(config.read_text())["server"]["maxUploadSize"])
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
        return 200  # Streamlit's own default


def max_upload_bytes() -> int:
    """Largest catalog or image archive accepted, in bytes (env ``PRODSIM_MAX_UPLOAD_MB`` overrides)."""
    return int(float(os.environ.get("PRODSIM_MAX_UPLOAD_MB", _streamlit_upload_cap_mb())) * MB)


def max_unzipped_bytes() -> int:
    """Largest total uncompressed size of an image archive (env ``PRODSIM_MAX_UNZIPPED_MB``)."""
    return int(float(os.environ.get("PRODSIM_MAX_UNZIPPED_MB", 4096)) * MB)


def human_size(size: float) -> str:
    """'812 bytes', '48 KB', '3.4 MB', '2.1 GB'."""
    for unit, scale in (("GB", 1024 ** 3), ("MB", MB), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{int(size)} bytes"
