"""The documented entry points of prodsim; the CLI and the pages call only these.

Heavy libraries (torch, transformers) load inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prodsim.catalog import FIELDS, ROW_NUMBER_ID, QualityReport, RawTable, guess_mapping, read_table
from prodsim.embedding import EmbedStats, ProductVectors, TextTemplate, cached_counts, embed_products
from prodsim.encoders.base import Encoder
from prodsim.encoders.multilingual import CJK_SHARE_FOR_SUGGESTION, cjk_share
from prodsim.encoders.registry import DEFAULT_TEXT, MULTILINGUAL_TEXT, load_image_encoder, load_text_encoder
from prodsim.ingest import IngestResult, attach_images, ingest
from prodsim.workspace import Workspace, default_root, list_workspaces, slugify

__all__ = [
    "FIELDS", "ROW_NUMBER_ID", "EmbedStats", "Encoder", "IngestResult", "ProductVectors", "QualityReport", "RawTable",
    "TextTemplate", "Workspace", "attach_images", "cached_counts", "default_root", "embed", "guess_mapping", "ingest",
    "list_workspaces", "load_image_encoder", "load_text_encoder", "read_table", "slugify", "suggest_text_model",
]


def suggest_text_model(workspace: Workspace) -> str:
    """The multilingual encoder when most titles are Chinese/Japanese, else the default."""
    titles = workspace.products()["title"].head(2000).tolist()
    return MULTILINGUAL_TEXT if cjk_share(titles) >= CJK_SHARE_FOR_SUGGESTION else DEFAULT_TEXT


def embed(
    workspace: Workspace | str | Path,
    text_encoder: Encoder | None = None,
    image_encoder: Encoder | None = None,
    *,
    use_images: bool | None = None,
    device: str = "auto",
    precision: str = "auto",
    template: TextTemplate = TextTemplate(),
    progress: Callable[[str, int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[ProductVectors, EmbedStats]:
    """Embeds a workspace's products, reusing every cached vector.

    Args:
        workspace: a workspace or its folder.
        text_encoder: default: the suggested text model for this catalog.
        image_encoder: default: EfficientNet-Lite0 when the catalog has photos.
        use_images: force photos on or off (default: on when there are any).
        device, precision: for encoders loaded here.
        template: which fields make the product text.
        progress: callable(stage, done, total).
        should_stop: polled between chunks; True cancels.
    """
    workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    if text_encoder is None:
        text_encoder = load_text_encoder(suggest_text_model(workspace), device, precision)
    if use_images is None:
        use_images = workspace.summary()["images"] > 0
    if use_images and image_encoder is None:
        image_encoder = load_image_encoder(None, device, precision)
    vectors, stats = embed_products(workspace, text_encoder, image_encoder if use_images else None, template, progress, should_stop)
    if stats.text_encoded + stats.images_encoded:
        workspace.record("embed", {"text": text_encoder.fingerprint, "image": image_encoder.fingerprint if use_images else None,
                                   "encoded": stats.text_encoded + stats.images_encoded})
    return vectors, stats
