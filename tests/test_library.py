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


def test_a_cancelled_job_continues_with_its_resume_work_not_its_first_step():
    """An update stopped while reading continues by reading (never by applying the file twice); a job without a
    resume runs its own work again."""
    import threading

    from prodsim.errors import Cancelled
    from prodsim.jobs import JobRunner

    runner, ran, going = JobRunner(), [], threading.Event()

    def update(progress, should_stop):
        ran.append("update")
        going.set()
        while not should_stop():
            threading.Event().wait(0.01)
        raise Cancelled("stopped while reading")

    def read(progress, should_stop):
        ran.append("read")
        return {"read": True}

    job = runner.start("prepare:w", "Updating 'w'", update, resume=("Reading 'w'", read))
    assert going.wait(10)
    job.cancel()
    assert job.wait(10).status == "cancelled"
    resumed = runner.resume("prepare:w")
    assert resumed.wait(10).status == "done" and resumed.label == "Reading 'w'" and resumed.result == {"read": True}
    assert ran == ["update", "read"]
    again = runner.resume("prepare:w")  # a job that was itself a resume continues with the same work
    assert again.wait(10).status == "done" and ran == ["update", "read", "read"]
    assert runner.resume("prepare:other") is None
