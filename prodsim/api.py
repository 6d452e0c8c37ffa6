"""The documented entry points of prodsim; the CLI and the pages call only these.

Heavy libraries (torch, transformers) load inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prodsim.clustering import Clusters, misfiled_products
from prodsim.catalog import FIELDS, ROW_NUMBER_ID, QualityReport, RawTable, guess_mapping, label_columns, read_table
from prodsim.embedding import EmbedStats, ProductVectors, TextTemplate, count_cached, embed_products
from prodsim.encoders.base import Encoder
from prodsim.encoders.fusion import Fusion
from prodsim.encoders.multilingual import CJK_SHARE_FOR_SUGGESTION, cjk_share
from prodsim.encoders.registry import (
    DEFAULT_IMAGE, DEFAULT_TEXT, IMAGE_MODELS, MULTILINGUAL_TEXT, TEXT_MODELS, load_image_encoder, load_text_encoder, local_models,
    models_root,
)
from prodsim.errors import BadInputError
from prodsim.images import small_thumbnail_uris
from prodsim.identifiers import ColumnRoles, guess_roles
from prodsim.ingest import IngestResult, attach_images, ingest
from prodsim.insights.behaviour import load_log as behaviour_log
from prodsim.insights.overlay import group_overview, has_overlay, product_sales
from prodsim.neighbours import DUPLICATE_THRESHOLD, ProductSimilarity, duplicate_groups
from prodsim.pair_labels import LABELS, PairLabels
from prodsim.review import ReviewStore
from prodsim.updates import new_arrivals
from prodsim.settings import TEMPLATE_FIELDS, WorkspaceSettings, load_settings, save_settings
from prodsim.demo import demo_for_new_root
from prodsim.mapview import hover_texts, map_layers, selected_rows
from prodsim.exports import XLSX_ROW_LIMIT, csv_bytes, spreadsheet_safe, xlsx_bytes
from prodsim.product_search import PICKER_LIMIT, find_products
from prodsim.workspace import (
    Workspace, atomic_write_json, check_writable, default_root, list_workspaces, now_iso, read_only, slugify, workspace_dir_for,
)

__all__ = [
    "DEFAULT_IMAGE", "DEFAULT_TEXT", "DUPLICATE_THRESHOLD", "FIELDS", "LABELS", "MAX_QUERY_CHARS", "PairLabels",
    "ProductSimilarity", "Clusters", "cluster", "clustering_agreement", "grouping_vectors", "misfiled_products", "naming_texts", "project",
    "ReviewStore", "small_thumbnail_uris", "split_group", "truth_column",
    "duplicate_groups", "duplicate_model", "learn_duplicates", "search_photo", "search_text", "showcase_product", "similarity", "workspace_state", "IMAGE_MODELS", "ROW_NUMBER_ID", "TEMPLATE_FIELDS", "TEXT_MODELS",
    "EmbedStats", "Encoder", "Fusion", "IngestResult", "ProductVectors", "QualityReport", "RawTable", "TextTemplate",
    "Workspace", "WorkspaceSettings", "attach_images", "demo_for_new_root", "map_layers", "hover_texts", "selected_rows", "PICKER_LIMIT", "find_products", "XLSX_ROW_LIMIT", "csv_bytes", "spreadsheet_safe", "xlsx_bytes", "cached_counts", "default_root", "embed",
    "finetune", "finetune_categories", "last_update", "new_arrivals", "prepare", "redraw_map", "update", "stored_grouping", "grouping_template", "guess_mapping", "guess_roles", "ColumnRoles", "ingest", "label_columns", "list_workspaces", "match", "load_image_encoder", "load_settings", "load_text_encoder",
    "model_specs", "local_models", "models_root", "packaged_models", "read_only", "read_table", "report", "attach_behaviour", "backtest_sentence", "behaviour_models", "thumbnail_uri", "behaviour_log", "demand_eval", "group_overview", "has_overlay", "product_sales", "product_matrix", "read_behaviour", "recommend_eval", "save_settings", "slugify", "workspace_dir_for", "suggest_text_model",
]


def packaged_models(kind: str) -> dict[str, str]:
    """The models shipped in Python packages for ``kind`` ("text" or "image"): name -> label."""
    return dict(TEXT_MODELS if kind == "text" else IMAGE_MODELS)


def suggest_text_model(workspace: Workspace) -> str:
    """The multilingual encoder when most titles are Chinese/Japanese, else the default."""
    titles = workspace.products()["title"].head(2000).tolist()
    return MULTILINGUAL_TEXT if cjk_share(titles) >= CJK_SHARE_FOR_SUGGESTION else DEFAULT_TEXT


def model_specs(workspace: Workspace) -> tuple[str, str | None]:
    """(text model, image model or None) this workspace uses, from its settings or prodsim's choice."""
    settings = load_settings(workspace)
    use_images = settings.use_images if settings.use_images is not None else workspace.summary()["images"] > 0
    return settings.text_model or suggest_text_model(workspace), (settings.image_model or DEFAULT_IMAGE) if use_images else None


def cached_counts(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None = None) -> dict[str, int]:
    """How many products already have vectors under the workspace's template (no model runs)."""
    return count_cached(workspace, text_encoder, image_encoder, load_settings(workspace).template())


def embed(
    workspace: Workspace | str | Path,
    text_encoder: Encoder | None = None,
    image_encoder: Encoder | None = None,
    *,
    use_images: bool | None = None,
    device: str = "auto",
    precision: str = "auto",
    template: TextTemplate | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[ProductVectors, EmbedStats]:
    """Embeds a workspace's products, reusing every cached vector.

    Args:
        workspace: a workspace or its folder.
        text_encoder: default: the workspace's text model (see :func:`model_specs`).
        image_encoder: default: the workspace's image model, when it uses photos.
        use_images: force photos on or off (default: the workspace's settings).
        device, precision: for encoders loaded here.
        template: which fields make the product text (default: the workspace's settings).
        progress: callable(stage, done, total).
        should_stop: polled between chunks; True cancels.
    """
    workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    text_spec, image_spec = model_specs(workspace)
    if use_images is None:
        use_images = image_spec is not None or image_encoder is not None
    text_encoder = text_encoder or load_text_encoder(text_spec, device, precision)
    if use_images and image_encoder is None:
        image_encoder = load_image_encoder(image_spec, device, precision)
    image_encoder = image_encoder if use_images else None
    template = template or load_settings(workspace).template()
    counts = count_cached(workspace, text_encoder, image_encoder, template)
    if counts["texts_cached"] < counts["products"] or (image_encoder is not None and counts["photos_cached"] < counts["photos"]):
        from prodsim.capacity import check_fits

        # A reading pass is due: refused before it starts when the catalog cannot fit.
        check_fits(counts["products"], text_encoder.dim + (image_encoder.dim if image_encoder is not None else 0))
    vectors, stats = embed_products(workspace, text_encoder, image_encoder, template, progress, should_stop)
    if stats.text_encoded + stats.images_encoded:
        workspace.record("embed", {"text": text_encoder.fingerprint, "image": image_encoder.fingerprint if image_encoder else None,
                                   "encoded": stats.text_encoded + stats.images_encoded})
    return vectors, stats


def _read_tables(left: str | Path, right: str | Path, id_col: str | None, identifier_cols: list[str] | None = None):
    """Both tables as products, and each one's identifier columns (those given, else guessed per table)."""
    from prodsim.catalog import build_products
    from prodsim.ingest import resolve_mapping, resolve_roles

    tables, identifiers = [], []
    for path in (left, right):
        raw = read_table(path)
        mapping = resolve_mapping(raw, {"id": id_col})
        tables.append(build_products(raw, mapping)[0])
        identifiers.append(resolve_roles(raw, mapping, identifier_cols).identifiers)
    return tables, tuple(identifiers)


PAIR_COLUMNS = {"gold": ("left id", "right id"), "pairs": ("left id", "right id", "label (0 or 1)")}


def _read_pairs(**paths) -> dict:
    """Pair files in any table format, each checked for the columns it needs (gold: two ids; labelled: and a label)."""
    read = {}
    for name, path in paths.items():
        if path is None:
            read[name] = None
            continue
        frame = read_table(path).frame
        needed = PAIR_COLUMNS["gold" if name == "gold" else "pairs"]
        if frame.shape[1] < len(needed):
            raise BadInputError(f"{Path(path).name} has {frame.shape[1]} column{'s' if frame.shape[1] != 1 else ''}; as the "
                                f"{name} file it needs {len(needed)}: {', '.join(needed)}, in that order.")
        read[name] = frame
    return read


def match(left: str | Path, right: str | Path, *, gold: str | Path | None = None, pairs: str | Path | None = None,
          valid: str | Path | None = None, id_col: str | None = None, text_model: str | None = None,
          device: str = "auto", precision: str = "auto", identifier_cols: list[str] | None = None) -> dict:
    """Evaluates matching between two catalog files.

    Args:
        left, right: catalog files; columns are mapped as on upload (title/name, brand/manufacturer, ...).
        gold: true pairs (left id, right id) for recall@k and MRR.
        pairs, valid: labelled pairs (left id, right id, 0/1) for F1 on ``pairs``, classified by a pair model:
            the one in a folder written by :func:`finetune`, else the default one shipped with prodsim (trained on
            public benchmark pairs), each at its own threshold; with ``valid``, the hybrid score's F1 at the
            threshold chosen on ``valid`` is added as ``hybrid_score``.
        id_col: the id column of both tables, when the guess is wrong.
        identifier_cols: columns holding GTIN/EAN/UPC, MPN or model numbers in both tables; None guesses them
            per table from names and values, [] uses none.
        text_model: text model name or folder (default MiniLM-L6), or a folder written by
            :func:`finetune` (its encoder and pair model are used).
    """
    import time

    from prodsim.matching import score_tables
    from prodsim.training import MODEL_FILE, PairModel, evaluate_scores

    started = time.perf_counter()
    if gold is None and pairs is None:
        raise BadInputError("Nothing to evaluate: give a gold file of true pairs, or labelled pairs with a validation file.")
    (left_table, right_table), identifiers = _read_tables(left, right, id_col, identifier_cols)
    read = _read_pairs(gold=gold, pairs=pairs, valid=valid)
    pair_model, pair_model_source = PairModel.default(), "default"
    if text_model is not None and (Path(text_model) / MODEL_FILE).is_file():  # a folder written by finetune
        pair_model, pair_model_source = PairModel.load(Path(text_model)), "trained"
        if pair_model is None:
            raise BadInputError(f"The pair model in {text_model} was saved by an older prodsim (other features) or is not a "
                                "model; train it again with `python -m prodsim finetune`. Nothing in it was run.")
        tuned = Path(text_model) / "encoder"
        text_model = str(tuned) if tuned.is_dir() else None  # no encoder folder: fine-tuning kept the default
    encoder = load_text_encoder(text_model, device, precision)
    scores = score_tables(left_table, right_table, encoder, identifiers=identifiers)
    result = {"left_rows": len(left_table), "right_rows": len(right_table),
              "identifier_columns": {"left": identifiers[0], "right": identifiers[1]}}
    result |= evaluate_scores(scores, left_table, right_table, read["gold"], read["pairs"], read["valid"], pair_model)
    return result | {"text_model": encoder.fingerprint, "pair_model": True, "pair_model_source": pair_model_source,
                     "seconds": round(time.perf_counter() - started, 2)}


def finetune(left: str | Path, right: str | Path, train: str | Path, valid: str | Path, out: str | Path, *,
             test: str | Path | None = None, gold: str | Path | None = None, id_col: str | None = None,
             text_model: str | None = None, fine_tune: bool = True, epochs: int | None = None, device: str = "auto",
             progress: Callable[[str, int, int], None] | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """Trains a matching model on labelled pairs of two catalog files (see :func:`prodsim.training.train_matching`).

    The model is written to a staging folder and renamed to ``out`` only when training ends,
    so ``out`` never holds a half-trained model.
    """
    from prodsim.training import FinetuneConfig, staged_model_dir, train_matching

    (left_table, right_table), identifiers = _read_tables(left, right, id_col)
    read = _read_pairs(train=train, valid=valid, test=test, gold=gold)
    encoder = load_text_encoder(text_model, device)
    config = FinetuneConfig(epochs=epochs) if epochs else FinetuneConfig()
    with staged_model_dir(out) as staging:
        description = train_matching(left_table, right_table, read["train"], read["valid"], staging, encoder,
                                     getattr(encoder, "path", None), test=read["test"], gold=read["gold"], identifiers=identifiers,
                                     fine_tune=fine_tune,
                                     config=config, device=device, load_encoder=lambda folder: load_text_encoder(str(folder), device),
                                     progress=progress, should_stop=should_stop)
    return description | {"out": str(out)}


MAX_QUERY_CHARS = 500


def workspace_state(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None) -> str:
    """A key that changes whenever the products, settings or models change (for caches)."""
    import hashlib

    stamp = (workspace.path / "products.parquet").stat().st_mtime_ns
    parts = [str(workspace.path), str(stamp), repr(load_settings(workspace)), text_encoder.fingerprint,
             image_encoder.fingerprint if image_encoder else ""]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def similarity(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None = None) -> ProductSimilarity:
    """Hybrid similarity over the workspace (vectors come from the cache; missing ones are computed)."""
    from prodsim.lexical_store import lexical_views

    vectors, _ = embed(workspace, text_encoder, image_encoder, use_images=image_encoder is not None)
    encoder, views = lexical_views(workspace)
    return ProductSimilarity(workspace.products(), vectors, load_settings(workspace).image_weight,
                             index_folder=workspace.path / "index", lexical_encoder=encoder, lexical=views,
                             roles=ColumnRoles.from_dict(workspace.meta.get("roles")))


def duplicate_model(workspace: Workspace, state: str):
    """The duplicate model learnt from this workspace's decisions under ``state``, else the default one shipped with
    prodsim (``details["default"]``), trained on public shop pairs."""
    from prodsim.training import duplicates

    return duplicates.load(workspace, state) or duplicates.default_model()


def learn_duplicates(workspace: Workspace, pairs, products, state: str):
    """Trains the duplicate model on the workspace's pair decisions and keeps it (see prodsim.training.duplicates).

    Raises:
        BadInputError: too few decisions of either kind; nothing is written then.
    """
    from prodsim.training import duplicates

    model = duplicates.train_duplicate_model(pairs, products, PairLabels(workspace).labels(), state)
    duplicates.save(workspace, model)
    return model


def showcase_product(similarity_model: ProductSimilarity) -> int:
    """The row of the product a first page shows with its neighbours: the first one with a photo (else the first)."""
    import numpy as np

    with_photo = np.flatnonzero(similarity_model.vectors.has_image)
    return int(with_photo[0]) if len(with_photo) else 0


def search_text(similarity_model: ProductSimilarity, text_encoder: Encoder, query: str, k: int = 20,
                keyword_weight: float = 0.5):
    """Products for a typed query.

    Raises:
        BadInputError: an empty or punctuation-only query, or one longer than MAX_QUERY_CHARS.
    """
    import re

    from prodsim.errors import BadInputError

    query = query.strip()
    if not re.search(r"\w", query):
        raise BadInputError("Type a few words to search for, e.g. 'cordless kettle' or a model number.")
    if len(query) > MAX_QUERY_CHARS:
        raise BadInputError(f"The search text is {len(query):,} characters long; keep it under {MAX_QUERY_CHARS} "
                            "(a product title or a few words).")
    return similarity_model.search_text(query, text_encoder.encode(query), k, keyword_weight)


def search_photo(similarity_model: ProductSimilarity, image_encoder: Encoder, data: bytes, name: str = "photo", k: int = 20):
    """Products whose photo looks like an uploaded one.

    Raises:
        BadInputError: the upload is not a picture prodsim can read.
    """
    from prodsim.errors import BadInputError
    from prodsim.images import load_rgb

    try:
        load_rgb(data)
    except ValueError as err:
        raise BadInputError(f"{name} cannot be used for photo search: {err}. Upload a JPEG or PNG photo.") from err
    return similarity_model.search_photo(image_encoder.encode([data])[0], k)


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
    return _fused_vectors(workspace, grouping_template(workspace), text_encoder, image_encoder, progress, should_stop)


def prepare(workspace: Workspace, text_encoder: Encoder | None = None, image_encoder: Encoder | None = None, *,
            grouping: bool = True, progress: Callable[[str, int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> dict:
    """Everything the pages show for a workspace, computed once and kept: vectors, then the map and suggested groups.

    Stages: reading product texts, looking at photos, indexing words and codes, (the grouping text, only when the
    product text includes the category), drawing the map, finding groups. Each stage keeps
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
    if grouping:
        matrix = grouping_vectors(workspace, progress, text_encoder, image_encoder, should_stop)
        for stage, run in (("Drawing the map", lambda: project(workspace, vectors=matrix)),
                           ("Finding groups", lambda: cluster(workspace, vectors=matrix))):
            if should_stop and should_stop():
                raise Cancelled(f"Stopped before '{stage.lower()}'; the steps before it are kept and will not be redone.")
            if progress:
                progress(stage, 0, 1)
            run()
            if progress:
                progress(stage, 1, 1)
    return result | {"seconds": round(__import__("time").perf_counter() - started, 1)}


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


def stored_grouping(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None):
    """(grouping vectors, map, clusters) when every stage of :func:`prepare` is already kept, else None (nothing is computed)."""
    from prodsim.clustering import stored_clusters
    from prodsim.projection import ProjectionConfig, stored_projection

    template = grouping_template(workspace)
    counts = count_cached(workspace, text_encoder, image_encoder, template)
    if counts["texts_cached"] < counts["products"] or (image_encoder is not None and counts["photos_cached"] < counts["photos"]):
        return None
    matrix = _fused_vectors(workspace, template, text_encoder, image_encoder)
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


def report_figures(workspace: Workspace, similarity_model: ProductSimilarity, clusters: Clusters, final) -> dict[str, str]:
    """Headline figures of a workspace, formatted for people: size, grouping, review, duplicates, evaluation."""
    products = similarity_model.products
    figures = {"products": f"{len(products):,}", "suggested groups": f"{len(clusters.names):,}",
               "products reviewed": f"{(final['source'] != 'suggested').mean():.0%}"}
    if (products["category"] != "").any():
        agreement_figures = clustering_agreement(clusters.labels, products["category"])
        if agreement_figures:
            figures |= {"NMI vs categories": f"{agreement_figures['nmi']:.2f}", "ARI vs categories": f"{agreement_figures['ari']:.2f}"}
    pairs = similarity_model.duplicate_pairs()
    figures["likely duplicate pairs"] = f"{int((pairs['suggested'] == 'duplicate').sum()):,}"
    from prodsim.training import registry

    models = registry.list_models(workspace).dropna(subset=["f1_after"])
    if not models.empty:
        best = models.sort_values("f1_after").iloc[-1]
        figures[f"matching F1 ({best['name']})"] = f"{best['f1_before']:.2f} → {best['f1_after']:.2f}"
    return figures


def report(workspace: Workspace, out: str | Path, text_encoder: Encoder | None = None, image_encoder: Encoder | None = None,
           similarity_model: ProductSimilarity | None = None, vectors=None) -> dict:
    """Writes the workspace's self-contained HTML report (see :mod:`prodsim.report`); returns its path and size.

    Args:
        similarity_model, vectors: what the caller already has (:func:`similarity`, :func:`grouping_vectors`).
    """
    from prodsim.report import build_report, write_report

    out = Path(out)
    if out.is_dir() or not out.parent.is_dir():  # said now, not after minutes of work
        raise BadInputError(f"{out} is a folder; give the report a file name, e.g. {out / 'report.html'}." if out.is_dir()
                            else f"The folder {out.parent} does not exist; create it or write the report elsewhere.")
    if similarity_model is None:
        text_spec, image_spec = model_specs(workspace)
        text_encoder = text_encoder or load_text_encoder(text_spec)
        image_encoder = image_encoder or (load_image_encoder(image_spec) if image_spec else None)
        similarity_model = similarity(workspace, text_encoder, image_encoder)
    vectors = grouping_vectors(workspace) if vectors is None else vectors
    clusters = cluster(workspace, vectors=vectors)[0]
    final = ReviewStore(workspace).final(workspace.products(), clusters.suggested())
    html = build_report(workspace, similarity_model, project(workspace, vectors=vectors), final,
                        report_figures(workspace, similarity_model, clusters, final))
    size = write_report(Path(out), html)
    return {"workspace": str(workspace.path), "out": str(out), "bytes": size, "megabytes": round(size / 1e6, 2),
            "products": len(final)}


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



def _fused_vectors(workspace: Workspace, template: TextTemplate | None = None, text_encoder: Encoder | None = None,
                   image_encoder: Encoder | None = None, progress: Callable[[str, int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None):
    use_images = image_encoder is not None if text_encoder is not None else None
    vectors, _ = embed(workspace, text_encoder, image_encoder, use_images=use_images, template=template, progress=progress,
                       should_stop=should_stop)
    return Fusion(vectors, load_settings(workspace).image_weight).matrix()


def product_matrix(workspace: Workspace, progress: Callable[[str, int, int], None] | None = None):
    """The fused product vectors the neighbours page compares (from the vector cache)."""
    return _fused_vectors(workspace, progress=progress)


def read_behaviour(workspace: Workspace, source, name: str | None = None, mapping: dict | None = None):
    """Reads a behaviour log against the workspace's catalog without keeping it: (events, report).

    Args:
        mapping: log field -> column; fields left out are guessed from the column names.
    """
    from prodsim.insights.behaviour import guess_log_mapping, read_log

    raw = read_table(source, name)
    chosen = guess_log_mapping(raw.frame) | {k: v for k, v in (mapping or {}).items() if v}
    return read_log(raw, chosen, workspace.products())


def attach_behaviour(workspace: Workspace, source, name: str | None = None, mapping: dict | None = None):
    """Reads a behaviour log and keeps it in the workspace (replacing the earlier one); returns its report.

    Raises:
        BadInputError: see :func:`prodsim.insights.behaviour.read_log`; nothing is written then.
    """
    from prodsim.insights.behaviour import save_log

    events, log_report = read_behaviour(workspace, source, name, mapping)
    save_log(workspace, events, log_report, name or Path(str(source)).name)
    return log_report


def _events(workspace: Workspace, log, mapping: dict | None):
    if log is not None:
        return read_behaviour(workspace, log, mapping=mapping)[0]
    stored = behaviour_log(workspace)
    if stored is None:
        raise BadInputError("This workspace has no behaviour log: give one with --log or upload it on the Insights page.")
    return stored[0]


def recommend_eval(workspace: Workspace, log=None, *, k: int = 10, content_weight: float | None = None,
                   mapping: dict | None = None) -> dict:
    """Hit-rate@k and recall@k of popularity, co-occurrence, content and the blend, last order held out.

    Args:
        log: a behaviour log file (default: the workspace's attached log).
    """
    from prodsim.insights import recommend

    weight = recommend.DEFAULT_CONTENT_WEIGHT if content_weight is None else content_weight
    return recommend.evaluate(_events(workspace, log, mapping), workspace.products(), product_matrix(workspace), k, weight)


def behaviour_models(workspace: Workspace, similarity_model: ProductSimilarity):
    """What the Insights page uses from the attached log: (events, recommender, launch curves, orders per buyer,
    demand backtest on this log or None)."""
    from prodsim.insights import demand, recommend

    events, _ = behaviour_log(workspace)
    products, matrix = similarity_model.products, similarity_model.fusion.matrix()
    buyers = events[events["quantity"] > 0].groupby("user")["order"].nunique().drop("", errors="ignore")
    return (events, recommend.Recommender.fit(events, products, matrix), demand.launch_curves(events, products),
            buyers.sort_values(ascending=False), demand.backtest(events, products, matrix))


def thumbnail_uri(workspace: Workspace, sha1: str) -> str:
    """A data URI of a product's thumbnail, or a neutral placeholder picture when it has no photo."""
    from prodsim.images import PLACEHOLDER_URI, data_uri

    path = workspace.thumbnail_path(sha1)
    return PLACEHOLDER_URI if path is None else data_uri(path.read_bytes())


def backtest_sentence(backtest: dict | None) -> str:
    """What a page may say about how good demand hints are on this log (see prodsim.insights.demand.backtest)."""
    if backtest is None:
        return "This log has too few launches with 8 complete weeks to measure how close such hints come."
    ours, naive = backtest["similarity"]["wape"], backtest["naive"]["wape"]
    change = (naive - ours) / naive if naive else 0.0
    verdict = f"{change:.0%} less error than" if change > 0 else f"{-change:.0%} more error than"
    share = "" if backtest["products"] == backtest["launches"] else f"{backtest['products']:,} of "
    return (f"Measured on {share}this log's own {backtest['launches']:,} launches ({backtest['first_sold'][0]} to "
            f"{backtest['first_sold'][1]}): {verdict} assuming the median new product (WAPE {ours:.2f} vs {naive:.2f}).")


def demand_eval(workspace: Workspace, log=None, *, start: str = "2011-03-01", end: str = "2011-09-30", weeks: int = 8,
                mapping: dict | None = None) -> dict:
    """WAPE of launch-week estimates from similar products vs the median new product (and the category mean)."""
    from prodsim.insights import demand

    products = workspace.products()
    groups = products["category"].to_numpy() if (products["category"] != "").mean() > 0.5 else None
    return demand.evaluate(_events(workspace, log, mapping), products, product_matrix(workspace), start, end, weeks, groups=groups)
