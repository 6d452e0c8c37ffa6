"""The library stays usable without the UI and without loading models on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


def test_a_cancelled_first_map_leaves_the_workspace_usable_and_the_next_run_continues(demo_workspace, text_encoder):
    """Cancel while the first map is due: the vectors stay, neighbours work, and the next reading draws the map
    without reading a product again."""
    from prodsim import api
    from prodsim.errors import Cancelled

    stages: list[str] = []
    with pytest.raises(Cancelled, match="Stopped before 'drawing the map'"):
        api.prepare(demo_workspace, text_encoder, None, progress=lambda stage, done, total: stages.append(stage),
                    should_stop=lambda: "Indexing words and model codes" in stages)
    assert api.stored_grouping(demo_workspace, text_encoder, None) is None
    similarity = api.similarity(demo_workspace, text_encoder)
    assert len(similarity.neighbours(0, k=5)) == 5  # usable: the finished stages are kept
    again = api.prepare(demo_workspace, text_encoder, None)
    assert again["text_encoded"] == 0
    assert api.stored_grouping(demo_workspace, text_encoder, None) is not None
