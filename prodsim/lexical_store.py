"""A catalog's lexical views kept in its workspace, so they are fitted once per catalog version.

Fitting the character, word and code TF-IDF views runs a Python analyzer over every title: about
2.5 minutes for a million products on 2 cores. The reading job does it once, after the vectors,
and every server process afterwards reads the result back in seconds. Saved as plain NumPy
arrays (sparse matrices as their three arrays, vocabularies as UTF-8 bytes with lengths), read
without pickle.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from scipy import sparse

from prodsim.lexical import VIEWS, LexicalEncoder, LexicalFeatures
from prodsim.workspace import Workspace, atomic_write_bytes, read_only

FOLDER = "lexical"
FORMAT = 2  # bump when the saved layout or the encoder's settings change (2: identifier columns in the views)


def _identifier_columns(workspace: Workspace) -> list[str]:
    from prodsim.identifiers import ColumnRoles

    return ColumnRoles.from_dict(workspace.meta.get("roles")).identifiers


def _path(workspace: Workspace) -> Path:
    version = "|".join(map(str, (FORMAT, *workspace.products_version()[1:], *_identifier_columns(workspace))))
    return workspace.path / FOLDER / f"{hashlib.sha1(version.encode()).hexdigest()[:16]}.npz"


def _terms_arrays(vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    terms = sorted(vocabulary, key=vocabulary.get)  # in column order
    encoded = [t.encode("utf-8") for t in terms]
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), np.array([len(e) for e in encoded], dtype=np.int64)


def _vocabulary(data: np.ndarray, lengths: np.ndarray) -> dict[str, int]:
    raw, ends = data.tobytes(), np.cumsum(lengths)
    starts = ends - lengths
    return {raw[s:e].decode("utf-8"): column for column, (s, e) in enumerate(zip(starts.tolist(), ends.tolist()))}


def save(workspace: Workspace, encoder: LexicalEncoder, features: LexicalFeatures) -> None:
    """Keeps the fitted views for the workspace's current catalog (older versions are removed)."""
    arrays: dict[str, np.ndarray] = {"has_codes": np.array(encoder.has_codes)}
    for view in VIEWS:
        matrix = getattr(features, view).tocsr()
        arrays |= {f"{view}_data": matrix.data, f"{view}_indices": matrix.indices, f"{view}_indptr": matrix.indptr,
                   f"{view}_shape": np.array(matrix.shape)}
        vectorizer = getattr(encoder, view)
        if hasattr(vectorizer, "vocabulary_"):
            arrays[f"{view}_terms"], arrays[f"{view}_lengths"] = _terms_arrays(vectorizer.vocabulary_)
            arrays[f"{view}_idf"] = vectorizer.idf_
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = _path(workspace)
    atomic_write_bytes(path, buffer.getvalue())
    for old in path.parent.glob("*.npz"):
        if old != path:
            old.unlink(missing_ok=True)


def load(workspace: Workspace) -> tuple[LexicalEncoder, LexicalFeatures] | None:
    """The views saved for the current catalog, or None (none saved, or not a file this module wrote)."""
    path = _path(workspace)
    if not path.is_file():
        return None
    encoder = LexicalEncoder()
    try:
        with np.load(path, allow_pickle=False) as saved:
            matrices = {view: sparse.csr_matrix((saved[f"{view}_data"], saved[f"{view}_indices"], saved[f"{view}_indptr"]),
                                                shape=tuple(saved[f"{view}_shape"])) for view in VIEWS}
            encoder.has_codes = bool(saved["has_codes"])
            for view in VIEWS:
                if f"{view}_terms" in saved.files:
                    vectorizer = getattr(encoder, view)
                    vectorizer.vocabulary_ = _vocabulary(saved[f"{view}_terms"], saved[f"{view}_lengths"])
                    vectorizer.idf_ = saved[f"{view}_idf"]
    except (ValueError, KeyError, OSError):
        return None
    return encoder, LexicalFeatures(matrices["char"], matrices["word"], matrices["code"])


def lexical_views(workspace: Workspace) -> tuple[LexicalEncoder, LexicalFeatures]:
    """The workspace's fitted lexical views: read back when kept, else fitted on its products and kept."""
    stored = load(workspace)
    if stored is not None:
        return stored
    encoder = LexicalEncoder()
    features = encoder.fit_transform(workspace.products().reset_index(drop=True), _identifier_columns(workspace))
    if not read_only():  # a read-only demo changes no file; it fits again per process instead
        save(workspace, encoder, features)
    return encoder, features


__all__ = ["lexical_views", "load", "save"]
