"""A workspace's trained models: list, make one the active text encoder, delete.

Models live in ``<workspace>/models/<name>/`` as written by :func:`prodsim.training.train_matching`.
Making a model active points the workspace's text model at its encoder folder; the vectors are
then recomputed through the cache (the encoder's fingerprint changed), nothing else is touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from prodsim.errors import BadInputError
from prodsim.settings import load_settings, save_settings
from prodsim.training import MODEL_FILE, read_description
from prodsim.workspace import Workspace, check_writable, slugify


def models_dir(workspace: Workspace) -> Path:
    """Where the workspace keeps its trained models."""
    return workspace.path / "models"


def new_model_dir(workspace: Workspace, name: str) -> Path:
    """A free folder for a model called ``name``.

    Raises:
        BadInputError: the name is empty or taken.
    """
    slug = slugify(name or "")
    if not slug:
        raise BadInputError("Give the model a name, e.g. 'abt-buy pairs, November'.")
    folder = models_dir(workspace) / slug
    if folder.exists():
        raise BadInputError(f"A model called '{slug}' exists already; pick another name or delete it first.")
    return folder


def list_models(workspace: Workspace) -> pd.DataFrame:
    """One row per trained model: name, created, whether it has its own encoder, figures, active."""
    active = load_settings(workspace).text_model or ""
    rows = []
    for folder in sorted(models_dir(workspace).glob(f"*/{MODEL_FILE}")):
        description = read_description(folder.parent)
        before, after = description.get("before", {}), description.get("after", {})
        encoder = folder.parent / "encoder"
        rows.append({"name": folder.parent.name, "created": description["created"][:16].replace("T", " "),
                     "own_encoder": encoder.is_dir(), "active": encoder.is_dir() and Path(active) == encoder,
                     "train_pairs": description["data"]["train_pairs"],
                     "f1_before": before.get("f1"), "f1_after": after.get("f1"),
                     "recall_at_1_before": before.get("recall_at_1"), "recall_at_1_after": after.get("recall_at_1"),
                     "minutes": round(description["seconds"] / 60, 1)})
    return pd.DataFrame(rows, columns=["name", "created", "own_encoder", "active", "train_pairs", "f1_before", "f1_after",
                                       "recall_at_1_before", "recall_at_1_after", "minutes"])


def activate(workspace: Workspace, name: str | None) -> str:
    """Makes the model's encoder the workspace's text model (None: back to the default); returns what is active."""
    check_writable("switching models", "admin")
    settings = load_settings(workspace)
    if name is None:
        settings.text_model = None
    else:
        encoder = models_dir(workspace) / name / "encoder"
        if not encoder.is_dir():
            raise BadInputError(f"The model '{name}' kept the base encoder (only its pair model was trained), so there is no encoder to switch to.")
        settings.text_model = str(encoder)
    save_settings(workspace, settings)
    workspace.record("activate_model", {"model": name})
    return name or "the default text model"


def delete(workspace: Workspace, name: str) -> None:
    """Deletes a trained model; if it was active, the workspace goes back to the default text model."""
    check_writable("deleting a model", "admin")
    folder = models_dir(workspace) / name
    if not (folder / MODEL_FILE).is_file():
        raise BadInputError(f"There is no trained model called '{name}'.")
    if list_models(workspace).set_index("name").at[name, "active"]:
        activate(workspace, None)
    shutil.rmtree(folder)
    workspace.record("delete_model", {"model": name})
