"""The library stays usable without the UI and without loading models on import."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_importing_prodsim_and_its_api_loads_neither_streamlit_nor_torch():
    code = ("import sys, prodsim, prodsim.api, prodsim.cli; "
            "print(sorted(m for m in ('streamlit', 'torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_no_module_in_the_library_imports_streamlit():
    offenders = [p.relative_to(REPO) for p in (REPO / "prodsim").rglob("*.py")
                 if any(line.lstrip().startswith(("import streamlit", "from streamlit")) for line in p.read_text().splitlines())]
    assert offenders == []
