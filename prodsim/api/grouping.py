"""Maps and suggested groups of a workspace: the grouping vectors, the prepare pipeline, clusters and their review."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from prodsim.api.photo_weight import measure_once
from prodsim.api.products import embed, fused_vectors
from prodsim.clustering import Clusters
from prodsim.embedding import TextTemplate, count_cached
from prodsim.encoders.base import Encoder
from prodsim.encoders.registry import load_text_encoder
from prodsim.errors import BadInputError
from prodsim.review import ReviewStore
from prodsim.settings import load_settings
from prodsim.workspace import Workspace, check_writable


def grouping_template(workspace: Workspace) -> TextTemplate:
    """The product text for maps and grouping: the workspace's template without the category field.

    Products' own category names would pull each product towards the group it is filed
    in, which hides misfiled products and flatters agreement with the existing categories.
    """
    settings = load_settings(workspace)
    return TextTemplate(tuple(f for f in settings.template_fields if f != "category") or ("title",), settings.description_words)


def grouping_vectors(workspace: Workspace, progress: Callable[[str, int, int], None] | None = None,
                     text_encoder: Encoder | None = None, image_encoder: Encoder | None = None,
                     should_stop: Callable[[], bool] | None = None):
    """Fused vectors for maps and grouping, from :func:`grouping_template` (encoders: the workspace's unless given).

    With the default product text (which leaves the category out) these are the vectors the
    neighbours use, so no model runs again.
    """
    if text_encoder is None:  # the workspace's own encoders (prepare measures with the ones it is given)
        measure_once(workspace, progress=progress, should_stop=should_stop)
    return fused_vectors(workspace, grouping_template(workspace), text_encoder, image_encoder, progress, should_stop)


def prepare(workspace: Workspace, text_encoder: Encoder | None = None, image_encoder: Encoder | None = None, *,
            grouping: bool = True, progress: Callable[[str, int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> dict:
    """Everything the pages show for a workspace, computed once and kept: vectors, then the map and suggested groups.

    Stages: reading product texts, looking at photos, indexing words and codes, (the grouping text, only when the
    product text includes the category), measuring the photo weight on the category column (once), drawing the map, finding groups (and their sub-groups). Each stage keeps
    its result in the workspace as it finishes, so a cancel or a restart continues with the
    next one.

    Raises:
        Cancelled: ``should_stop`` said so; finished stages (and finished batches) are kept.
    """
    from prodsim.errors import Cancelled

    started = __import__("time").perf_counter()
    use_images = image_encoder is not None if text_encoder is not None else None
    _, stats = embed(workspace, text_encoder, image_encoder, use_images=use_images, progress=progress, should_stop=should_stop)
    result = {"products": stats.products, "text_encoded": stats.text_encoded, "images_encoded": stats.images_encoded,
              "images_failed": len(stats.images_failed)}
    from prodsim.lexical_store import lexical_views

    if progress:
        progress("Indexing words and model codes", 0, 1)
    lexical_views(workspace)  # kept in the workspace: the first page's similarity model reads it back
    if progress:
        progress("Indexing words and model codes", 1, 1)
    measure_once(workspace, text_encoder, image_encoder, progress, should_stop)  # the photo weight neighbours and groups use
    if grouping:
        matrix = grouping_vectors(workspace, progress, text_encoder, image_encoder, should_stop)
        for stage, run in (("Drawing the map", lambda: project(workspace, vectors=matrix)),
                           ("Finding groups", lambda: suggested_levels(workspace, cluster(workspace, vectors=matrix)[0], matrix))):
            if should_stop and should_stop():
                raise Cancelled(f"Stopped before '{stage.lower()}'; the steps before it are kept and will not be redone.")
            if progress:
                progress(stage, 0, 1)
            run()
            if progress:
                progress(stage, 1, 1)
    return result | {"seconds": round(__import__("time").perf_counter() - started, 1)}


def stored_grouping(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None):
    """(grouping vectors, map, clusters) when every stage of :func:`prepare` is already kept, else None (nothing is computed)."""
    from prodsim.clustering import stored_clusters
    from prodsim.projection import ProjectionConfig, stored_projection

    template = grouping_template(workspace)
    counts = count_cached(workspace, text_encoder, image_encoder, template)
    if counts["texts_cached"] < counts["products"] or (image_encoder is not None and counts["photos_cached"] < counts["photos"]):
        return None
    matrix = fused_vectors(workspace, template, text_encoder, image_encoder)
    coordinates = stored_projection(workspace, matrix, ProjectionConfig())
    clusters = stored_clusters(matrix, naming_texts(workspace.products()), workspace.path / "clusters")
    return None if coordinates is None or clusters is None else (matrix, coordinates, clusters)


def finetune_categories(workspace: Workspace, column: str, out: str | Path, *, epochs: int | None = None, device: str = "auto",
                        progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Fine-tunes the workspace's text model from a category column (weak supervision).

    Returns the saved description: clustering NMI/ARI against ``column`` with the default
    grouping before and after, on all products and on the held-out products only.
    """
    import time

    from prodsim.clustering import agreement, cluster_labels
    from prodsim.training import MODEL_FILE, FinetuneConfig, staged_model_dir
    from prodsim.training.categories import VectorScores, category_pairs
    from prodsim.training.finetune import finetune_text_encoder
    from prodsim.workspace import atomic_write_json, now_iso

    started = time.perf_counter()
    truth = truth_column(workspace, column)
    base = load_text_encoder(load_settings(workspace).text_model, device)
    if getattr(base, "path", None) is None:
        raise BadInputError(f"{base.label} cannot be fine-tuned here; choose a Hugging Face text model for this workspace.")
    texts = grouping_template(workspace).render(workspace.products())
    vectors = base.encode(texts)
    scores = VectorScores(vectors)  # pairs on demand: no n x n matrix
    train, valid, held_out = category_pairs(truth, vectors)
    categories = truth.fillna("").astype(str).to_numpy()
    config = FinetuneConfig(epochs=epochs) if epochs else FinetuneConfig()

    def figures(encoder) -> dict:
        groups = cluster_labels(grouping_vectors(workspace, text_encoder=encoder))[0]
        return {"all": agreement(groups, truth), "held_out": agreement(groups[held_out], truth.iloc[held_out].reset_index(drop=True))}

    with staged_model_dir(out) as staging:
        epochs_run = finetune_text_encoder(base.path, texts, texts, train, valid, scores, staging, config, device,
                                           progress, groups=(categories, categories))
        tuned = load_text_encoder(str(staging / "encoder"), device) if (staging / "encoder").is_dir() else None

        before = figures(base)
        after = figures(tuned) if tuned else before
        description = {"created": now_iso(), "base_model": base.fingerprint, "encoder": "encoder" if tuned else None,
                       "encoder_note": None if tuned else "fine-tuning did not improve validation AUC; the base encoder is kept",
                       "data": {"products": len(texts), "category_column": column, "train_pairs": len(train[0]),
                                "valid_pairs": len(valid[0]), "held_out_products": len(held_out)},
                       "settings": {"epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate},
                       "epochs": [e.__dict__ for e in epochs_run], "threshold": None,
                       "before": {"nmi": before["all"]["nmi"], "ari": before["all"]["ari"], "held_out_nmi": before["held_out"]["nmi"]},
                       "after": {"nmi": after["all"]["nmi"], "ari": after["all"]["ari"], "held_out_nmi": after["held_out"]["nmi"]},
                       "seconds": round(time.perf_counter() - started, 1)}
        atomic_write_json(staging / MODEL_FILE, description)
    return description | {"out": str(out)}


def truth_column(workspace: Workspace, column: str):
    """A column of the uploaded catalog by its original name (mapped or not).

    Raises:
        BadInputError: no such column.
    """
    from prodsim.errors import BadInputError

    products = workspace.products()
    mapped = {original: field for field, original in workspace.meta.get("mapping", {}).items() if original}
    for candidate in (mapped.get(column), f"{column} (original)", column):
        if candidate and candidate in products.columns:
            return products[candidate]
    raise BadInputError(f"The catalog has no column '{column}'. Columns: {', '.join(sorted(set(mapped) | set(products.columns)))}.")


def redraw_map(workspace: Workspace) -> int:
    """Forgets the kept maps of the current products, so the next reading fits UMAP afresh (after updates placed
    new products on the old map); returns how many maps (2-D, 3-D) were forgotten."""
    from prodsim.projection import ProjectionConfig, forget_projection

    check_writable("redrawing the map", "reviewer")
    vectors = grouping_vectors(workspace)
    return sum(forget_projection(workspace, vectors, ProjectionConfig(n_components=dimensions)) for dimensions in (2, 3))


def project(workspace: Workspace, n_components: int = 2, vectors=None):
    """The workspace's UMAP map (cached in projections/), shape (n, n_components).

    Args:
        vectors: :func:`grouping_vectors` when the caller already has them.
    """
    from prodsim.projection import ProjectionConfig, project_workspace

    vectors = grouping_vectors(workspace) if vectors is None else vectors
    return project_workspace(workspace, vectors, ProjectionConfig(n_components=n_components))


def cluster(workspace: Workspace, method: str = "hdbscan", k: int | None = None, truth_col: str | None = None,
            assign_outliers: bool = True, vectors=None) -> tuple[Clusters, dict]:
    """Suggested groups for the workspace, with their agreement with ``truth_col`` when given.

    Args:
        vectors: :func:`grouping_vectors` when the caller already has them.

    Returns:
        (clusters, figures) where figures has n_clusters, outlier_share and, with a truth column, ari and nmi.
    """
    from prodsim.clustering import agreement, cluster_products

    truth = truth_column(workspace, truth_col) if truth_col else None
    matrix = grouping_vectors(workspace) if vectors is None else vectors
    if k is not None and not 2 <= k <= len(matrix):
        raise BadInputError(f"k-means needs between 2 and {len(matrix):,} groups (the products of this workspace); k was {k}.")
    clusters = cluster_products(matrix, naming_texts(workspace.products()), method, k, assign_outliers, workspace.path / "clusters")
    figures = {"n_clusters": len(clusters.names), "outlier_share": clusters.outlier_share}
    if truth is not None:
        figures |= agreement(clusters.labels, truth)
    return clusters, figures


def suggested_levels(workspace: Workspace, clusters: Clusters, vectors):
    """The suggested groups at several levels (``clustering.hierarchy``), level 1 being ``clusters``; kept in
    clusters/ beside them (NumPy arrays and JSON names, no pickle) and read back while vectors and groups stay."""
    import io
    import json

    import numpy as np

    from prodsim.clustering.hierarchy import GroupLevels, group_levels
    from prodsim.vector_cache import array_key
    from prodsim.workspace import atomic_write_bytes, atomic_write_json

    folder = workspace.path / "clusters"
    stem = folder / f"levels-{array_key(vectors, array_key(clusters.labels))}"
    if stem.with_suffix(".npz").is_file() and stem.with_suffix(".json").is_file():
        names = json.loads(stem.with_suffix(".json").read_text("utf-8"))
        with np.load(stem.with_suffix(".npz")) as stored:
            depth = len(names)
            return GroupLevels([stored[f"labels_{i}"] for i in range(depth)], [stored[f"parents_{i}"] for i in range(depth)],
                               [{int(k): v for k, v in level.items()} for level in names])
    levels = group_levels(vectors, naming_texts(workspace.products()), clusters.labels, clusters.names)
    buffer = io.BytesIO()
    np.savez(buffer, **{f"labels_{i}": labels for i, labels in enumerate(levels.labels)},
             **{f"parents_{i}": parents for i, parents in enumerate(levels.parents)})
    folder.mkdir(exist_ok=True)
    atomic_write_bytes(stem.with_suffix(".npz"), buffer.getvalue())
    atomic_write_json(stem.with_suffix(".json"), [{str(k): v for k, v in level.items()} for level in levels.names])
    return levels


def final_categories(workspace: Workspace, vectors=None) -> tuple[Clusters, pd.DataFrame]:
    """The suggested groups and each product's final category (``ReviewStore.final``: decisions first, suggestions
    for the rest); the groups are computed if they are not kept yet. ``vectors``: :func:`grouping_vectors` if known."""
    clusters = cluster(workspace, vectors=grouping_vectors(workspace) if vectors is None else vectors)[0]
    return clusters, ReviewStore(workspace).final(workspace.products(), clusters.suggested())


def level_figures(workspace: Workspace, levels, truth_cols: list[str]) -> list[dict]:
    """Per suggested level: its groups and, against the i-th of ``truth_cols`` (level i's true categories), ARI/NMI."""
    from prodsim.clustering import agreement

    figures = []
    for level in range(levels.depth):
        row = {"level": level + 1, "groups": int(len(set(levels.labels[level].tolist())))}
        if level < len(truth_cols):
            row |= {"truth_col": truth_cols[level], **agreement(levels.labels[level], truth_column(workspace, truth_cols[level]))}
        figures.append(row)
    return figures


def naming_texts(products) -> list[str]:
    """Titles without their brand: names come from what products are, not who makes them."""
    import re

    return [re.sub(re.escape(brand), " ", title, flags=re.IGNORECASE) if brand else title
            for title, brand in zip(products["title"], products["brand"])]


def split_group(store: ReviewStore, label: str, products, vectors, rows, k: int = 2, seen: int | None = None) -> dict[str, int]:
    """Re-clusters the products at ``rows`` into ``k`` parts and files each under its own name.

    Parts are named "<label> · <distinguishing words>"; the split is one decision (one undo).
    ``seen``: the step the page was drawn at (see ReviewStore.accept).

    Returns:
        part name -> number of products.
    """
    from prodsim.clustering import split_group as split_labels

    parts, names = split_labels(vectors[rows], naming_texts(products.iloc[rows]), k)
    ids = products["id"].to_numpy()[rows]
    return store.split(label, {pid: f"{label} · {names[part]}" for pid, part in zip(ids, parts)}, seen=seen)


def clustering_agreement(labels, categories) -> dict | None:
    """ARI/NMI against a category column, or None when the column cannot be compared (one value, empty)."""
    from prodsim.clustering import agreement
    from prodsim.errors import BadInputError

    try:
        return agreement(labels, categories)
    except BadInputError:
        return None
