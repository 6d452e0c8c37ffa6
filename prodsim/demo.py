"""The demo catalog: invented products with drawn photos and a purchase log, made by the scripts in ``assets/``."""

from __future__ import annotations

from pathlib import Path

from prodsim import access
from prodsim.workspace import Workspace, list_workspaces, read_only, slugify

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_CATALOG = ASSETS / "demo_catalog.csv"
DEMO_PHOTOS = ASSETS / "demo_photos"
DEMO_BEHAVIOUR = ASSETS / "demo_behaviour.csv"
DEMO_NAME = "Demo catalog"
ADDED_MARKER = ".demo-added"  # once only: a user who deletes the demo does not get it back


def add_demo(root: Path, name: str = DEMO_NAME) -> Workspace:
    """Ingests the demo catalog with its photos and purchase log into a new workspace under ``root``."""
    from prodsim import api

    workspace = api.ingest(DEMO_CATALOG, workspace_dir=root / slugify(name), name=name, images=DEMO_PHOTOS).workspace
    api.attach_behaviour(workspace, DEMO_BEHAVIOUR)
    return workspace


SETUP = access.Person("prodsim (first start)", "admin")


def demo_for_new_root(root: Path) -> Workspace | None:
    """The demo workspace, added the first time a writable, empty workspaces folder is opened; else None.

    It is the server's own setup, whoever's visit opens the folder first (a viewer's too), so it is recorded
    as prodsim's, not theirs.
    """
    marker = root / ADDED_MARKER
    if read_only() or marker.exists() or list_workspaces(root):
        return None
    with access.acting_as(SETUP):
        workspace = add_demo(root)
    marker.touch()
    return workspace
