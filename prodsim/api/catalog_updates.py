"""Next week's file into an existing workspace (see prodsim.updates for the diff and the filing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prodsim.api.grouping import grouping_vectors
from prodsim.catalog import read_table
from prodsim.encoders.base import Encoder
from prodsim.errors import BadInputError
from prodsim.identifiers import ColumnRoles
from prodsim.ingest import ingest
from prodsim.workspace import Workspace, atomic_write_json, now_iso


def update(workspace: Workspace, catalog: str | Path | bytes, *, catalog_name: str | None = None,
           images: str | Path | bytes | None = None, images_name: str = "photos.zip", mapping: dict | None = None,
           sheet: str | None = None, auto_file_above: float | None = None, dry_run: bool = False, confirmed: tuple = (),
           text_encoder: Encoder | None = None, image_encoder: Encoder | None = None,
           progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Next week's file into an existing workspace: what changes first, then the products replaced and the arrivals filed.

    The file is mapped as the workspace's catalog was (its columns and roles, where the file has them; ``mapping``
    on top). ``dry_run`` returns the diff and writes nothing. Otherwise the products are replaced (decisions, photos
    of products still there, vectors and history kept), the new vectors read, and new or changed products that
    nobody decided on are filed into reviewed categories above ``auto_file_above`` (one undoable decision) or
    queued as New arrivals (see prodsim.updates).

    Args:
        confirmed: what ``dry_run`` listed under ``confirm`` and a person agreed to ("mapping", "remove_all", "no_new").

    Raises:
        BadInputError: unreadable input, or something to confirm that was not: nothing is written then.
    """
    from prodsim.ingest import resolve_mapping
    from prodsim.updates import AUTO_FILE_ABOVE, file_arrivals, preview

    threshold = AUTO_FILE_ABOVE if auto_file_above is None else auto_file_above
    if not 0 <= threshold <= 1:
        raise BadInputError(f"--auto-file-above must be between 0 and 1 (a confidence), not {threshold}.")
    raw = read_table(catalog, catalog_name, sheet)
    columns = set(raw.frame.columns)
    kept = {field: column for field, column in workspace.meta.get("mapping", {}).items() if column in columns}
    chosen = resolve_mapping(raw, kept | (mapping or {}))
    plan, diff = preview(workspace, raw, chosen, images, images_name)
    plan |= {"workspace": str(workspace.path), "auto_file_above": threshold}
    if dry_run:
        return plan | {"dry_run": True}
    unconfirmed = [item for item in plan["confirm"] if item not in confirmed]
    if unconfirmed:
        raise BadInputError(" ".join(plan["warnings"]) + " Nothing was changed; to go ahead, confirm "
                            + " and ".join(f"'{item}'" for item in unconfirmed) + " (--confirm).")
    roles = ColumnRoles.from_dict(workspace.meta.get("roles"))
    drawn = any((workspace.path / "projections").glob("*.npy"))  # a map to keep: its products' vectors are all read
    before = (grouping_vectors(workspace, None, text_encoder, image_encoder), workspace.products()["id"].to_numpy()) if drawn else None
    ingest(catalog, workspace_dir=workspace.path, catalog_name=catalog_name, mapping=chosen, images=images,
           images_name=images_name, sheet=sheet, identifiers=[c for c in roles.identifiers if c in columns],
           attributes=[c for c in roles.attributes if c in columns])
    matrix = grouping_vectors(workspace, progress, text_encoder, image_encoder)
    if before is not None:
        from prodsim.projection import ProjectionConfig, extend_projection

        ids = workspace.products()["id"].to_numpy()
        for dimensions in (2, 3):  # the 2-D and 3-D maps stay as reviewers know them; a refit is the Map page's choice
            extend_projection(workspace, *before, matrix, ids, ProjectionConfig(n_components=dimensions))
    result = plan | {"dry_run": False, "filing": file_arrivals(workspace, matrix, diff.new + diff.changed, threshold),
                     "at": now_iso()}
    workspace.record("update", {k: v for k, v in result["diff"].items() if isinstance(v, int)} | {"filing": result["filing"]})
    atomic_write_json(workspace.path / LAST_UPDATE, result)
    return result


LAST_UPDATE = "last_update.json"


def last_update(workspace: Workspace) -> dict | None:
    """What the last update of the workspace changed and filed (see :func:`update`), or None before any."""
    import json

    path = workspace.path / LAST_UPDATE
    return json.loads(path.read_text()) if path.is_file() else None
