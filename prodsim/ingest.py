"""Turning an uploaded catalog (and photos) into a workspace.

Everything is read, mapped, decoded and checked in memory first; only when all checks
pass is anything written, into a staging folder that is then renamed into place. A bad
file therefore leaves the workspaces on disk exactly as they were.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from prodsim.catalog import QualityReport, RawTable, build_products, guess_mapping, read_table
from prodsim.errors import BadInputError
from prodsim.identifiers import ColumnRoles, guess_roles, identifier_matrix, uninformative
from prodsim.images import ImageMatch, list_image_source, match_images
from prodsim.workspace import (
    META, PRODUCTS, QUALITY, Workspace, atomic_write_json, atomic_write_parquet, check_writable,
    default_root, merge_staged_images, new_staging_dir, now_iso, slugify, stage_images,
)

Progress = Callable[[int, int], None]


@dataclass
class IngestResult:
    """A finished ingest: the workspace written and what was found."""

    workspace: Workspace
    report: QualityReport
    mapping: dict


def resolve_mapping(raw: RawTable, overrides: dict[str, str | None] | None) -> dict[str, str | None]:
    """The guessed mapping with the user's choices on top.

    An override of None keeps the guess; "" maps nothing to that field.
    """
    mapping = guess_mapping(raw.frame)
    mapping.update({k: v or None for k, v in (overrides or {}).items() if v is not None})
    return mapping


def resolve_roles(raw: RawTable, mapping: dict[str, str | None], identifiers: list[str] | None = None,
                  attributes: list[str] | None = None) -> ColumnRoles:
    """Identifier and attribute columns: the user's lists where given (None keeps the guess, [] means none).

    Raises:
        BadInputError: a column that is not in the file, or one that already holds a field (a column cannot be
            both the title and an identifier).
    """
    guessed = guess_roles(raw.frame, mapping)
    roles = ColumnRoles(guessed.identifiers if identifiers is None else list(identifiers),
                        guessed.attributes if attributes is None else list(attributes))
    fields_of = {column: name for name, column in mapping.items() if column}
    for role, columns in (("identifier", roles.identifiers), ("attribute", roles.attributes)):
        for column in columns:
            if column not in raw.frame.columns:
                raise BadInputError(f"{raw.source_name} has no column named '{column}' to use as an {role}. "
                                    f"Columns are: {', '.join(raw.frame.columns)}.")
            if column in fields_of:
                raise BadInputError(f"'{column}' is already the {fields_of[column]} column, so it cannot also be an {role}. "
                                    f"Map another column as the {fields_of[column]}, or leave '{column}' out of the {role}s.")
    both = set(roles.identifiers) & set(roles.attributes)
    if both:
        raise BadInputError(f"'{sorted(both)[0]}' is given as both an identifier and an attribute; choose one.")
    return roles


def _apply_images(products: pd.DataFrame, matches: ImageMatch, report: QualityReport, kept: dict[str, str]) -> None:
    """Sets each product's photo hash: a new match first, else the photo it already had."""
    sha_by_id = {**kept, **{m.product_id: m.sha1 for m in matches.matched}}
    products["image_sha1"] = products["id"].map(sha_by_id).fillna("")
    report.images_matched = int((products["image_sha1"] != "").sum())
    report.images_missing = len(products) - report.images_matched
    report.images_unmatched = matches.unmatched
    report.images_corrupt = matches.corrupt
    report.files_skipped = matches.skipped


def _check_target(target: Path) -> bool:
    """True for an existing workspace, False for a new or empty folder; refuses anything else before any work.

    Raises:
        BadInputError: a file, a folder holding other things, a damaged workspace, or a folder prodsim may not write.
    """
    if target.exists() and not target.is_dir():
        raise BadInputError(f"{target} is a file, not a folder; give a new folder for the workspace.")
    if not (target / META).is_file():
        if target.is_dir() and any(target.iterdir()):
            raise BadInputError(f"{target} already holds other files and is not a prodsim workspace; give a new or empty folder.")
        parent = target if target.is_dir() else target.parent
        while not parent.exists():
            parent = parent.parent
        if not os.access(parent, os.W_OK):
            raise BadInputError(f"prodsim may not write in {parent}; give a folder it can write to.")
        return False
    try:
        Workspace(target).meta["name"]
    except (ValueError, KeyError, TypeError):
        raise BadInputError(f"{target / META} is damaged, so {target} cannot be updated safely. Restore the file from a "
                            "backup, or load the catalog into a new workspace.") from None
    if not os.access(target, os.W_OK):
        raise BadInputError(f"prodsim may not write in {target}; nothing was changed.")
    return True


def photos_still_theirs(previous: pd.DataFrame, products: pd.DataFrame) -> tuple[dict[str, str], int]:
    """The previous upload's photos by id, for products that are still the same product (their titles share most
    words), and how many were dropped: an id that now names another product does not keep the other's photo."""
    def words(title: str) -> set[str]:
        return set(re.findall(r"\w+", str(title).casefold()))

    before = previous.set_index("id")[["title", "image_sha1"]]
    before = before[before["image_sha1"] != ""]
    now = products.set_index("id")["title"]
    kept, dropped = {}, 0
    for product_id, title in now.reindex(before.index).dropna().items():
        old, new = words(before.at[product_id, "title"]), words(title)
        if old and len(old & new) / len(old | new) >= 0.5:
            kept[product_id] = before.at[product_id, "image_sha1"]
        else:
            dropped += 1
    return kept, dropped


def _refuse_if_unusable(matches: ImageMatch, source_name: str) -> None:
    if matches.matched:
        return
    problems = [f"{c['file']}: {c['reason']}" for c in matches.corrupt]
    problems += [f"{name}: matches no product" for name in matches.unmatched]
    problems += [f"{name}: not an image file" for name in matches.skipped]
    detail = "; ".join(problems[:5]) or "it holds no files"
    raise BadInputError(
        f"None of the photos in {source_name} could be used ({detail}). "
        "Name each photo after its product id or after the catalog's image column, and use JPEG or PNG files.")


def ingest(
    catalog: str | Path | bytes,
    *,
    workspace_dir: str | Path | None = None,
    catalog_name: str | None = None,
    name: str | None = None,
    mapping: dict[str, str | None] | None = None,
    images: str | Path | bytes | None = None,
    images_name: str = "photos.zip",
    sheet: str | None = None,
    identifiers: list[str] | None = None,
    attributes: list[str] | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Reads a catalog (and optionally its photos) into a workspace.

    Args:
        catalog: path or uploaded bytes of the catalog file.
        workspace_dir: the workspace folder; default a folder named after ``name`` under
            :func:`prodsim.workspace.default_root`. An existing workspace there gets the new
            rows and keeps its photos (of ids still present), cached vectors and history.
        catalog_name: the file name, needed with bytes.
        name: display name; default the catalog's file name without suffix.
        mapping: field -> column overrides on top of the guessed mapping.
        images: a ZIP (path or bytes) or a folder of photos.
        images_name: the archive's file name, for messages.
        sheet: a workbook's sheet; None picks the one holding the table.
        identifiers, attributes: identifier columns (GTIN, MPN, model number) and attribute columns (colour,
            size…); None keeps the guess (:func:`prodsim.identifiers.guess_roles`), [] means none.
        progress: callable(done, total) while photos are decoded.

    Raises:
        BadInputError: any problem with the files, or read-only mode; nothing is written then.
    """
    actor = check_writable("loading a catalog", "admin")
    raw = read_table(catalog, catalog_name, sheet)
    final_mapping = resolve_mapping(raw, mapping)
    roles = resolve_roles(raw, final_mapping, identifiers, attributes)
    products, report = build_products(raw, final_mapping)
    found = identifier_matrix(products, roles.identifiers)[2]
    found.attribute_columns, found.empty_columns = roles.attributes, uninformative(products, roles.identifiers + roles.attributes)
    report.identifiers = found.to_dict()
    matches = ImageMatch([], [], [], [])
    if images is not None:
        files = list_image_source(images, images_name)
        matches = match_images(files, products, progress)
        _refuse_if_unusable(matches, images_name if isinstance(images, bytes) else Path(images).name)
    display_name = name or Path(raw.source_name).stem
    # "." or "a/../b" name a folder by its parent; staging beside it needs the normalised path
    target = Path(os.path.abspath(workspace_dir)) if workspace_dir else default_root() / slugify(display_name)
    existing = _check_target(target)
    previous = Workspace(target).products() if existing else None
    kept, report.images_dropped = photos_still_theirs(previous, products) if previous is not None else ({}, 0)
    _apply_images(products, matches, report, kept)

    staging = new_staging_dir(target.parent)
    try:
        staged = stage_images(matches.matched, staging)
        update = {"source": raw.source_name, "mapping": final_mapping, "encoding": raw.encoding, "sheet": raw.sheet,
                  "roles": roles.to_dict(), "updated": now_iso(),
                  "uploaded_by": actor}
        if existing:
            merge_staged_images(staged, target)
            atomic_write_parquet(target / PRODUCTS, products)
            atomic_write_json(target / QUALITY, report.to_dict())
            Workspace(target).update_meta(lambda meta: meta.update(update, name=name or meta["name"]))
        else:
            products.to_parquet(staging / PRODUCTS, index=False)
            atomic_write_json(staging / QUALITY, report.to_dict())
            atomic_write_json(staging / META, {"name": display_name, "created": now_iso()} | update)
            try:
                staging.rename(target)
            except OSError as err:  # a colleague created it since this upload began
                raise BadInputError(f"A workspace '{target.name}' was created a moment ago by someone else; "
                                    "nothing was changed. Pick it in the sidebar, or upload under another name.") from err
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    workspace = Workspace(target)
    workspace.record("ingest", {"source": raw.source_name, "rows": report.rows_kept, "images": report.images_matched})
    return IngestResult(workspace, report, final_mapping)


def attach_images(
    workspace: Workspace,
    images: str | Path | bytes,
    images_name: str = "photos.zip",
    progress: Progress | None = None,
) -> QualityReport:
    """Adds or replaces photos of an existing workspace's products.

    Raises:
        BadInputError: unsafe or unreadable archives, or archives in which no photo can be
            used; the workspace is unchanged then.
    """
    check_writable("adding photos", "admin")
    products = workspace.products()
    files = list_image_source(images, images_name)
    matches = match_images(files, products, progress)
    _refuse_if_unusable(matches, images_name if isinstance(images, bytes) else Path(images).name)
    report = QualityReport(**{k: v for k, v in workspace.quality().items() if k in QualityReport.__dataclass_fields__})
    _apply_images(products, matches, report, dict(zip(products["id"], products["image_sha1"])))
    staging = new_staging_dir(workspace.path.parent)
    try:
        merge_staged_images(stage_images(matches.matched, staging), workspace.path)
    finally:
        shutil.rmtree(staging)
    atomic_write_parquet(workspace.path / PRODUCTS, products)
    atomic_write_json(workspace.path / QUALITY, report.to_dict())
    workspace.record("attach_images", {"source": images_name, "matched": len(matches.matched)})
    return report

