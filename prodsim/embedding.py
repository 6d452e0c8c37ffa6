"""Embedding a workspace's products through the vector cache.

Only content the cache has not seen reaches a model: re-embedding an unchanged catalog
runs no model at all, and changing ten rows encodes exactly those ten.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from functools import lru_cache

from prodsim.encoders.base import Encoder
from prodsim.errors import Cancelled
from prodsim.vector_cache import VectorCache, open_cache, text_key
from prodsim.workspace import Workspace

StageProgress = Callable[[str, int, int], None]
CHUNK = 256  # items encoded between cache writes: a cancel loses at most this much work
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class TextTemplate:
    """Which product fields make up the text that is embedded.

    Attributes:
        fields: product columns joined in this order (empty values skipped).
        description_words: the description is cut to its first words (it is often boilerplate), counting only
            words that say something the title and brand do not (shops often open it by repeating the title).
    """

    # The category is left out by default: "similar" means alike in what products are, not in where they are
    # filed (a misfiled product would be pulled towards its wrong category), and maps and groups can then use
    # the same vectors as the neighbours, with no second pass of the model.
    fields: tuple[str, ...] = ("title", "brand", "description")
    description_words: int = 30

    def render(self, products: pd.DataFrame) -> list[str]:
        """One text per product; an empty title falls back to the description."""
        texts = []
        columns = [c for c in self.fields if c in products.columns]
        for row in products[columns].astype(str).itertuples(index=False):
            values = dict(zip(columns, row))
            if "description" in values:
                values["description"] = new_words(values["description"], values.get("title", "") + " " + values.get("brand", ""),
                                                  self.description_words)
            if not values.get("title", "").strip() and values.get("description"):
                values["title"], values["description"] = values["description"], ""
            parts = [values[c].strip() for c in columns if values[c].strip() and values[c] != "nan"]
            texts.append(". ".join(dict.fromkeys(parts)))
        return texts

    def describe(self) -> str:
        """E.g. 'title + brand + category + description (30 words)'."""
        return " + ".join(f"{f} ({self.description_words} words)" if f == "description" else f for f in self.fields)


def new_words(text: str, known: str, limit: int) -> str:
    """The first ``limit`` words of ``text`` that are not made only of words in ``known`` (case ignored).

    "Key Features of Alisha Solid Women's Cycling Shorts Cotton Lycra Navy, ..." under that title keeps
    "Key Features of Cotton Lycra Navy, ...": the title is in the product text already, and a description that repeats
    it leaves few words for what it adds. Flipkart level-1 grouping NMI 0.744-0.761 on three encoder paths and three
    UMAP seeds, against 0.716-0.751 with the repeats kept; Abt-Buy R@1 0.920 -> 0.926 (README, Intel Xeon).
    """
    seen = set(_WORD.findall(known.lower()))
    kept = []
    for word in text.split():
        if len(kept) == limit:  # long descriptions: stop reading at the limit, not at their end
            break
        lower = word.lower()
        if lower in seen:
            continue
        if lower.isalnum() or not seen.issuperset(_WORD.findall(lower)):  # a plain word not seen needs no regex
            kept.append(word)
    return " ".join(kept)


@dataclass
class ProductVectors:
    """Vectors of every product, in product-table order.

    Attributes:
        ids: product ids, shape (n,).
        text: (n, d_text) unit rows.
        image: (n, d_image) unit rows, zero where a product has no usable photo; None without an image encoder.
        has_image: (n,) bool.
    """

    ids: np.ndarray
    text: np.ndarray
    image: np.ndarray | None
    has_image: np.ndarray


@dataclass
class EmbedStats:
    """What an embedding run did."""

    products: int = 0
    text_encoded: int = 0
    text_cached: int = 0
    images_encoded: int = 0
    images_cached: int = 0
    images_failed: list[str] = field(default_factory=list)  # product ids whose photo did not decode
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # things a person should know (e.g. a converted cache)


def _encode_missing(encoder: Encoder, cache: VectorCache, keys: list[str], load_item: Callable[[int], object],
                    stage: str, progress: StageProgress | None, should_stop: Callable[[], bool] | None) -> tuple[np.ndarray, int]:
    """Fills the cache for ``keys`` (distinct contents only) and returns all vectors and the count encoded."""
    found = cache.contains(keys)
    todo: dict[str, int] = {}
    for i in np.flatnonzero(~found).tolist():
        todo.setdefault(keys[i], i)
    pending = list(todo.items())
    if progress and pending:
        progress(stage, 0, len(pending))
    for start in range(0, len(pending), CHUNK):
        if should_stop and should_stop():
            raise Cancelled(f"{stage} was cancelled after {start:,} of {len(pending):,} new items; those are saved and will not be redone.")
        chunk = pending[start:start + CHUNK]
        vectors = encoder.encode([load_item(i) for _, i in chunk])
        cache.add([k for k, _ in chunk], vectors)
        if progress:
            progress(stage, min(start + CHUNK, len(pending)), len(pending))
    vectors, _ = cache.lookup(keys)
    return vectors, len(pending)


def embed_products(
    workspace: Workspace,
    text_encoder: Encoder,
    image_encoder: Encoder | None = None,
    template: TextTemplate = TextTemplate(),
    progress: StageProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[ProductVectors, EmbedStats]:
    """Embeds every product's text (and photo), encoding only what the cache lacks.

    Args:
        workspace: the catalog.
        text_encoder: any text :class:`~prodsim.encoders.base.Encoder`.
        image_encoder: an image encoder, or None for text only.
        template: which fields make the product text.
        progress: callable(stage, done, total).
        should_stop: polled between chunks; True cancels (finished chunks stay cached).

    Raises:
        Cancelled: when ``should_stop`` said so.
    """
    started = time.perf_counter()
    products = workspace.products()
    stats = EmbedStats(products=len(products))
    texts, keys = product_texts(workspace, template)
    text_cache = open_cache(workspace.vectors_dir, text_encoder.fingerprint, text_encoder.dim)
    _note_migration(text_cache, stats)
    text, stats.text_encoded = _encode_missing(
        text_encoder, text_cache, keys, texts.__getitem__, "Reading product texts", progress, should_stop)
    stats.text_cached = len(products) - stats.text_encoded
    image, has_image = None, np.zeros(len(products), dtype=bool)
    if image_encoder is not None:
        shas = products["image_sha1"].tolist()
        with_photo = [i for i, s in enumerate(shas) if s]
        suffix_of = _stored_suffixes(workspace)
        image_cache = open_cache(workspace.vectors_dir, image_encoder.fingerprint, image_encoder.dim)
        _note_migration(image_cache, stats)
        photo_vectors, stats.images_encoded = _encode_missing(
            image_encoder, image_cache, [shas[i] for i in with_photo],
            lambda j: workspace.image_path(shas[with_photo[j]], suffix_of.get(shas[with_photo[j]], ".jpg")).read_bytes(),
            "Looking at photos", progress, should_stop)
        stats.images_cached = len(with_photo) - stats.images_encoded
        image = np.zeros((len(products), image_encoder.dim), dtype=np.float32)
        image[with_photo] = photo_vectors
        has_image = np.linalg.norm(image, axis=1) > 0.5
        stats.images_failed = [products["id"].iloc[i] for i in with_photo if not has_image[i]]
    stats.seconds = round(time.perf_counter() - started, 3)
    return ProductVectors(products["id"].to_numpy(), text, image, has_image), stats


def product_texts(workspace: Workspace, template: TextTemplate) -> tuple[list[str], list[str]]:
    """(rendered text, cache key) per product, computed once per catalog version and template."""
    return _texts_of(workspace.products_version(), template)


@lru_cache(maxsize=4)
def _texts_of(version: tuple, template: TextTemplate) -> tuple[list[str], list[str]]:
    from pathlib import Path

    texts = template.render(Workspace(Path(version[0]).parent).products())
    return texts, [text_key(t) for t in texts]


def _note_migration(cache: VectorCache, stats: EmbedStats) -> None:
    if cache.migrated:
        stats.notes.append(f"The saved vectors of {cache.fingerprint.split('|')[0]} were converted to the new store "
                           f"({len(cache):,} vectors); none had to be read again.")
        cache.migrated = False  # said once


def _stored_suffixes(workspace: Workspace) -> dict[str, str]:
    """Photo hash -> file suffix of the stored original."""
    if not workspace.images_dir.is_dir():
        return {}
    return {p.stem: p.suffix for p in workspace.images_dir.iterdir()}


def count_cached(workspace: Workspace, text_encoder: Encoder, image_encoder: Encoder | None = None,
                  template: TextTemplate = TextTemplate()) -> dict[str, int]:
    """How many products already have vectors for these encoders, without running any model.

    Every page asks this on every rerun, so the answer is kept until the catalog, the template or
    what the vector stores hold changes.

    Returns:
        {"products", "texts_cached", "photos", "photos_cached"}.
    """
    text_cache = open_cache(workspace.vectors_dir, text_encoder.fingerprint, text_encoder.dim)
    image_cache = open_cache(workspace.vectors_dir, image_encoder.fingerprint, image_encoder.dim) if image_encoder else None
    key = (workspace.products_version(), template, text_cache.generation, image_cache.generation if image_cache else None)
    if key not in _COUNTS:
        products = workspace.products()
        _, keys = product_texts(workspace, template)
        shas = [s for s in products["image_sha1"] if s]
        photos_cached = int(image_cache.contains(shas).sum()) if image_cache is not None and shas else 0
        if len(_COUNTS) >= 16:
            _COUNTS.pop(next(iter(_COUNTS)))
        _COUNTS[key] = {"products": len(products), "texts_cached": int(text_cache.contains(keys).sum()), "photos": len(shas),
                        "photos_cached": photos_cached}
    return dict(_COUNTS[key])


_COUNTS: dict[tuple, dict[str, int]] = {}
