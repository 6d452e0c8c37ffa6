"""The photo weight a workspace uses: set by hand, measured on its categories, or the default.

``measure_photo_weight`` measures it (:mod:`prodsim.encoders.photo_weight`) from the categories the
workspace already knows, the reviewers' decisions or a catalog column, and keeps the result in the
workspace's meta.json; ``photo_weight`` is what similarity and grouping then use. A weight a person
set on the Home page or with the CLI always wins over a measured one.
"""

from __future__ import annotations

from prodsim.encoders.fusion import DEFAULT_IMAGE_WEIGHT
from prodsim.encoders.photo_weight import MIN_PRODUCTS, measure_image_weight
from prodsim.errors import BadInputError
from prodsim.settings import load_settings
from prodsim.workspace import Workspace, check_writable, now_iso

SOURCES = ("auto", "reviewed", "column")
MEASURE_KEY = "photo_weight"


def photo_weight(workspace: Workspace) -> float | None:
    """The weight similarity and grouping use: the hand-set one, else the measured one, else None (the default)."""
    chosen = load_settings(workspace).image_weight
    if chosen is not None:
        return chosen
    measured = workspace.meta.get(MEASURE_KEY)
    return None if measured is None else measured["weight"]


def stored_photo_weight(workspace: Workspace) -> dict | None:
    """The kept measurement (as :func:`measure_photo_weight` returned it), or None when none was made."""
    measured = workspace.meta.get(MEASURE_KEY)
    return None if measured is None else measured | {"applied": load_settings(workspace).image_weight is None}


def measure_photo_weight(workspace: Workspace, source: str = "auto", column: str | None = None, *,
                         text_encoder=None, image_encoder=None) -> dict:
    """Measures the photo weight on the workspace's known categories and keeps it as the workspace's default.

    Args:
        source: "reviewed" (the categories reviewers gave products), "column" (a catalog column), or
            "auto": the reviewed categories when at least MIN_PRODUCTS products have one, else the column.
        column: the catalog column for "column"/"auto" (its original name); default: the mapped category field.
        text_encoder, image_encoder: the workspace's automatic encoders unless given.

    Returns:
        The measure (weight, agreement, agreement_at_default, products, categories, neighbours, curve) with
        source, column, default_weight, measured (when) and applied (False when a weight was set by hand).

    Raises:
        BadInputError: an unknown source or column, no photos, too few known categories; nothing is kept then.
    """
    if source not in SOURCES:
        raise BadInputError(f"The photo weight is measured from {', '.join(SOURCES)}, not '{source}'.")
    check_writable("measuring the photo weight", "admin")
    _measure(workspace, source, column, text_encoder, image_encoder)
    workspace.record("photo weight measured", {k: workspace.meta[MEASURE_KEY][k] for k in ("weight", "source", "column", "products")})
    return {"workspace": str(workspace.path)} | stored_photo_weight(workspace)


def measure_once(workspace: Workspace, text_encoder=None, image_encoder=None, progress=None, should_stop=None) -> None:
    """The first time products are read or grouped: measures the weight from the category column, unless one is
    kept or set by hand, or the catalog has no photos or no category column (checked before any vector is read).

    Computed like the map and the groups (no decision, so no role is needed); a catalog without the
    categories to measure on keeps the default, silently."""
    meta, settings = workspace.meta, load_settings(workspace)
    photos_off = text_encoder is not None and image_encoder is None
    if (photos_off or MEASURE_KEY in meta or settings.image_weight is not None or settings.use_images is False
            or not meta.get("mapping", {}).get("category") or not workspace.summary()["images"]):
        return
    try:
        _measure(workspace, "column", None, text_encoder, image_encoder, progress, should_stop)
    except BadInputError:
        return


def _measure(workspace: Workspace, source: str, column: str | None, text_encoder, image_encoder,
             progress=None, should_stop=None) -> None:
    from prodsim.api.grouping import grouping_template
    from prodsim.api.products import embed

    labels, used, used_column = _known_categories(workspace, source, column)
    use_images = image_encoder is not None if text_encoder is not None else None
    vectors, _ = embed(workspace, text_encoder, image_encoder, use_images=use_images, template=grouping_template(workspace),
                       progress=progress, should_stop=should_stop)
    measure = measure_image_weight(vectors, labels.to_numpy())
    kept = measure.to_dict() | {"source": used, "column": used_column, "default_weight": DEFAULT_IMAGE_WEIGHT, "measured": now_iso()}
    workspace.update_meta(lambda meta: meta.update({MEASURE_KEY: kept}))


def _known_categories(workspace: Workspace, source: str, column: str | None):
    """(labels per product in table order, the source used, the column used or None)."""
    from prodsim.api.grouping import truth_column

    if source in ("auto", "reviewed"):
        reviewed = _reviewed_categories(workspace)
        if source == "reviewed" or reviewed.ne("").sum() >= MIN_PRODUCTS:
            return reviewed, "reviewed", None
    if column is None:
        column = workspace.meta.get("mapping", {}).get("category")
        if not column:
            raise BadInputError("This catalog has no category column, and fewer than "
                                f"{MIN_PRODUCTS} products have a reviewed category; the default photo weight stays.")
    return truth_column(workspace, column).reset_index(drop=True), "column", column


def _reviewed_categories(workspace: Workspace):
    """The accepted category of each product a reviewer decided on, "" for the others (table order)."""
    from prodsim.review import ReviewStore

    store = ReviewStore(workspace)
    groups = store.groups().set_index("group_id")
    accepted = groups.loc[groups["status"] == "accepted", "name"]
    decided = store.assignments().set_index("product_id")["group_id"].map(accepted)
    return workspace.products()["id"].astype(str).map(decided).fillna("").reset_index(drop=True)
