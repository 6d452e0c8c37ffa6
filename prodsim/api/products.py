"""Products and their similarity: which models a workspace uses, reading its vectors, neighbours and search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prodsim.api.photo_weight import photo_weight
from prodsim.embedding import EmbedStats, ProductVectors, TextTemplate, count_cached, embed_products
from prodsim.encoders.base import Encoder
from prodsim.encoders.fusion import Fusion
from prodsim.encoders.multilingual import CJK_SHARE_FOR_SUGGESTION, cjk_share
from prodsim.encoders.registry import (
    DEFAULT_IMAGE, DEFAULT_TEXT, IMAGE_MODELS, MULTILINGUAL_TEXT, TEXT_MODELS, load_image_encoder, load_text_encoder,
)
from prodsim.identifiers import ColumnRoles
from prodsim.neighbours import ProductSimilarity
from prodsim.settings import load_settings
from prodsim.workspace import Workspace


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


MAX_QUERY_CHARS = 500


def workspace_state(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None) -> str:
    """A key that changes whenever the products, settings or models change (for caches)."""
    import hashlib

    stamp = (workspace.path / "products.parquet").stat().st_mtime_ns
    parts = [str(workspace.path), str(stamp), repr(load_settings(workspace)), repr(photo_weight(workspace)), text_encoder.fingerprint,
             image_encoder.fingerprint if image_encoder else ""]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def similarity(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None = None) -> ProductSimilarity:
    """Hybrid similarity over the workspace (vectors come from the cache; missing ones are computed)."""
    from prodsim.lexical_store import lexical_views

    vectors, _ = embed(workspace, text_encoder, image_encoder, use_images=image_encoder is not None)
    encoder, views = lexical_views(workspace)
    return ProductSimilarity(workspace.products(), vectors, photo_weight(workspace),
                             index_folder=workspace.path / "index", lexical_encoder=encoder, lexical=views,
                             roles=ColumnRoles.from_dict(workspace.meta.get("roles")))


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


def fused_vectors(workspace: Workspace, template: TextTemplate | None = None, text_encoder: Encoder | None = None,
                   image_encoder: Encoder | None = None, progress: Callable[[str, int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None):
    use_images = image_encoder is not None if text_encoder is not None else None
    vectors, _ = embed(workspace, text_encoder, image_encoder, use_images=use_images, template=template, progress=progress,
                       should_stop=should_stop)
    return Fusion(vectors, photo_weight(workspace)).matrix()


def product_matrix(workspace: Workspace, progress: Callable[[str, int, int], None] | None = None):
    """The fused product vectors the neighbours page compares (from the vector cache)."""
    return fused_vectors(workspace, progress=progress)


def thumbnail_uri(workspace: Workspace, sha1: str) -> str:
    """A data URI of a product's thumbnail, or a neutral placeholder picture when it has no photo."""
    from prodsim.images import PLACEHOLDER_URI, data_uri

    path = workspace.thumbnail_path(sha1)
    return PLACEHOLDER_URI if path is None else data_uri(path.read_bytes())
