"""The workspace: one folder per catalog that owns everything prodsim keeps on disk.

Layout of ``<root>/<slug>/``::

    meta.json          name, source file, column mapping, dates
    products.parquet   the product table (see prodsim.catalog.build_products)
    quality.json       the last ingest's quality report
    images/            photos as uploaded, named by content hash
    thumbs/            JPEG thumbnails, named by the same hash
    vectors/           cached vectors, one file per encoder setting (prodsim.vector_cache)
    prodsim.db         SQLite (WAL): the history of what was done to the workspace

Every file is written to a temporary name and renamed into place, so a crash or a
cancelled job never leaves half a file; a failed ingest leaves the root untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from functools import lru_cache

import pandas as pd

from prodsim import access
from prodsim.errors import BadInputError

DEFAULT_ROOT_ENV = "PRODSIM_WORKSPACES"
READ_ONLY_ENV = "PRODSIM_READ_ONLY"
PRODUCTS = "products.parquet"
META = "meta.json"
QUALITY = "quality.json"
DATABASE = "prodsim.db"

# Every table of the database, in one place so that its version below describes all of it. Decisions
# (review_*, pair_label*) are kept by product id, with the person who made them.
SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_groups (
    group_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_assignments (
    product_id TEXT PRIMARY KEY, group_id INTEGER NOT NULL, source TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    summary TEXT NOT NULL, changes TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0, changed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS review_log_products (log_id INTEGER NOT NULL, product_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS review_log_products_by_product ON review_log_products (product_id);
CREATE INDEX IF NOT EXISTS review_log_products_by_log ON review_log_products (log_id);
CREATE TABLE IF NOT EXISTS review_log_groups (log_id INTEGER NOT NULL, group_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS review_clock (step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pair_labels (
    left_id TEXT NOT NULL, right_id TEXT NOT NULL, label TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,
    PRIMARY KEY (left_id, right_id)
);
CREATE TABLE IF NOT EXISTS pair_label_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, left_id TEXT NOT NULL, right_id TEXT NOT NULL,
    before TEXT, after TEXT, at TEXT NOT NULL, actor TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0
);
"""


def _add_column(connection: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    if column not in {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}:
        connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _to_version_2(connection: sqlite3.Connection) -> None:
    """Names on category assignments, and the step at which each decision last changed (for colleagues' checks)."""
    _add_column(connection, "review_assignments", "actor", "TEXT NOT NULL DEFAULT ''")
    _add_column(connection, "review_log", "changed", "INTEGER NOT NULL DEFAULT 0")
    connection.execute("UPDATE review_log SET changed = id WHERE changed = 0")
    for row in connection.execute("SELECT id, changes FROM review_log").fetchall():  # which products each decision touched
        changes = json.loads(row[1])
        touched = set(changes["before"]["assignments"]) | set(changes["after"]["assignments"])
        connection.executemany("INSERT INTO review_log_products VALUES (?, ?)", [(row[0], p) for p in touched])


# The database's schema version, kept in PRAGMA user_version. 0: files from before versioning; 1: versioned;
# 2: who made each category assignment, decision steps and the products each decision touched.
SCHEMA_VERSION = 2
MIGRATIONS = {1: lambda connection: None, 2: _to_version_2}  # target version -> the step from the version below


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Runs each migration above ``version`` in order and records the new version, all in one transaction."""
    with connection:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[target](connection)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def default_root() -> Path:
    """The folder holding all workspaces: ``$PRODSIM_WORKSPACES`` or ``./workspaces``."""
    return Path(os.environ.get(DEFAULT_ROOT_ENV, "workspaces")).resolve()


def read_only() -> bool:
    """True when this process was started read-only (``PRODSIM_READ_ONLY=1``, for demos on shared screens)."""
    return os.environ.get(READ_ONLY_ENV) == "1"


def check_writable(action: str, role: str) -> str:
    """Refuses a change in read-only mode or by someone whose role does not include ``role``; every decision,
    upload, setting and model path calls this first. Returns the name of the person acting (for the record).

    Raises:
        BadInputError: the app runs read-only (PermissionRefused: the role is not enough).
    """
    if read_only():
        raise BadInputError(f"This prodsim runs read-only (PRODSIM_READ_ONLY=1), so {action} is not possible; nothing was changed.")
    return access.require(role, action).name


def now_iso() -> str:
    """Current UTC time, second precision, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def slugify(name: str) -> str:
    """Folder name for a workspace name: lower-case letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "catalog"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, payload: dict) -> None:
    """Writes JSON atomically (UTF-8, indented for people who open the folder)."""
    atomic_write_bytes(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode("utf-8"))


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """Writes a DataFrame as Parquet atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _version(path: Path) -> tuple[str, int, int]:
    """(path, modification time, size + inode): a rename in place gives a new inode, so a new version."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, (stat.st_ino << 40) ^ stat.st_size


@lru_cache(maxsize=4)
def _products_of(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """The product table of one file version; read once per process (a handful of versions kept)."""
    return pd.read_parquet(path)


@lru_cache(maxsize=64)
def _text_of(path: str, mtime_ns: int, size: int) -> str:
    return Path(path).read_text(encoding="utf-8")


@lru_cache(maxsize=64)
def _photo_column(path: str, mtime_ns: int, size: int) -> pd.Series:
    return pd.read_parquet(path, columns=["image_sha1"])["image_sha1"]


class Workspace:
    """A catalog's folder on disk; cheap to construct, reads files on demand.

    Files are written by atomic renames, so a file's (modification time, size) names its
    version: ``products()`` and ``meta`` read each version once per process and then answer
    from memory, which keeps a page's reruns and the sidebar free of file reads.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / META).is_file():
            raise BadInputError(f"{self.path} is not a prodsim workspace (no {META}).")

    @staticmethod
    def holds_catalog(path: str | Path) -> bool:
        """Whether ``path`` is a workspace with a catalog in it (so an upload there is a re-upload)."""
        return (Path(path) / META).is_file()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @property
    def slug(self) -> str:
        """The folder name; stable across renames, so it is what URLs carry."""
        return self.path.name

    @property
    def meta(self) -> dict:
        """Contents of meta.json (a fresh dict each time: callers may change it before writing it back)."""
        return json.loads(_text_of(*_version(self.path / META)))

    @property
    def name(self) -> str:
        """Display name."""
        return self.meta["name"]

    @property
    def images_dir(self) -> Path:
        """Folder of stored photos."""
        return self.path / "images"

    @property
    def thumbs_dir(self) -> Path:
        """Folder of thumbnails."""
        return self.path / "thumbs"

    @property
    def vectors_dir(self) -> Path:
        """Folder of cached vectors."""
        return self.path / "vectors"

    def products_version(self) -> tuple[str, int, int]:
        """Names the current version of products.parquet (a cache key)."""
        return _version(self.path / PRODUCTS)

    def products(self) -> pd.DataFrame:
        """The product table (a shallow copy of the one read for this file version: adding columns is safe)."""
        return _products_of(*_version(self.path / PRODUCTS)).copy(deep=False)

    def quality(self) -> dict:
        """The last ingest's quality report."""
        path = self.path / QUALITY
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def image_path(self, sha1: str, suffix: str) -> Path:
        """Where a stored photo lives."""
        return self.images_dir / f"{sha1}{suffix}"

    def thumbnail_path(self, sha1: str) -> Path | None:
        """A product photo's thumbnail, or None when the product has no photo."""
        if not sha1:
            return None
        path = self.thumbs_dir / f"{sha1}.jpg"
        return path if path.is_file() else None

    def connect(self) -> sqlite3.Connection:
        """Opens the workspace database (WAL mode, schema ensured and migrated to SCHEMA_VERSION).

        Raises:
            BadInputError: the database was written by a newer prodsim (its schema version is higher).
        """
        connection = sqlite3.connect(self.path / DATABASE, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            connection.close()
            raise BadInputError(f"{self.path.name}'s database has schema version {version}, newer than this prodsim "
                                f"understands ({SCHEMA_VERSION}); update prodsim to open it. Nothing was changed.")
        if version < SCHEMA_VERSION:
            connection.executescript(SCHEMA)  # new tables; the migrations add columns to old ones
            _migrate(connection, version)
        return connection

    def record(self, action: str, details: dict) -> None:
        """Appends an entry to the workspace history, under the name of the person acting."""
        with self.connect() as connection:
            connection.execute("INSERT INTO history (at, actor, action, details) VALUES (?, ?, ?, ?)",
                               (now_iso(), access.current().name, action, json.dumps(details, default=str)))
        connection.close()

    def history(self) -> list[dict]:
        """The workspace history, newest first."""
        with self.connect() as connection:
            rows = connection.execute("SELECT at, actor, action, details FROM history ORDER BY id DESC").fetchall()
        connection.close()
        return [{"at": at, "actor": actor, "action": action, "details": json.loads(details)} for at, actor, action, details in rows]

    def rename(self, new_name: str) -> None:
        """Changes the display name (the folder keeps its slug so links keep working)."""
        check_writable("renaming a workspace", "admin")
        new_name = new_name.strip()
        if not new_name:
            raise BadInputError("A workspace needs a name; the new name was empty.")
        old = self.update_meta(lambda meta: meta.update(name=new_name, updated=now_iso()))["name"]
        self.record("rename", {"from": old, "to": new_name})

    def update_meta(self, change) -> dict:
        """Applies ``change(meta)`` to meta.json under the workspace's lock; returns meta.json as it was before.

        Two people saving settings and renaming at the same moment both land: each change reads the
        other's result, never a copy from before it.
        """
        from filelock import FileLock

        with FileLock(str(self.path / ".meta.lock")):
            before = self.meta
            meta = self.meta
            change(meta)
            atomic_write_json(self.path / META, meta)
        return before

    def delete(self) -> None:
        """Removes the workspace folder (moved aside first, so a crash never leaves half of it)."""
        check_writable("deleting a workspace", "admin")
        trash = self.path.with_name(f".deleted-{self.slug}-{uuid.uuid4().hex[:8]}")
        os.rename(self.path, trash)
        shutil.rmtree(trash)

    def summary(self) -> dict:
        """Counts for the sidebar and the home page (reads one column, not the whole table)."""
        photos = _photo_column(*_version(self.path / PRODUCTS))
        return {
            "name": self.name,
            "slug": self.slug,
            "products": len(photos),
            "images": int((photos != "").sum()),
            "created": self.meta.get("created"),
            "updated": self.meta.get("updated"),
        }


def workspace_dir_for(name: str, root: str | Path | None = None) -> Path:
    """The folder of the workspace called ``name``: always a direct child of ``root``, whatever the name holds
    (``../``, a path, NUL bytes: :func:`slugify` keeps letters, digits and dashes).

    Raises:
        BadInputError: that folder is a link (which could point out of the root).
    """
    root = Path(root) if root else default_root()
    path = root / slugify(name)
    if path.is_symlink() or (path.exists() and path.resolve().parent != root.resolve()):
        raise BadInputError(f"'{path.name}' in the workspaces folder is a link, not a workspace; nothing was changed. "
                            "Pick another name (the operator can remove the link).")
    return path


def list_workspaces(root: str | Path | None = None) -> list[Workspace]:
    """All workspaces under ``root``, by display name (links are skipped: they could lead out of the root)."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        return []
    found = [Workspace(p) for p in root.iterdir()
             if not p.is_symlink() and p.is_dir() and not p.name.startswith(".") and (p / META).is_file()]
    return sorted(found, key=lambda w: w.name.lower())


@dataclass
class StagedImages:
    """Photos ready to be moved into a workspace, keyed by product id."""

    files: dict[str, tuple[str, str]]  # product id -> (sha1, suffix)
    folder: Path


def stage_images(matched, staging: Path) -> StagedImages:
    """Writes matched photos and thumbnails under ``staging`` (content-addressed names)."""
    (staging / "images").mkdir(parents=True, exist_ok=True)
    (staging / "thumbs").mkdir(parents=True, exist_ok=True)
    files = {}
    for item in matched:
        suffix = PurePosixPath(item.file.name).suffix.lower()
        (staging / "images" / f"{item.sha1}{suffix}").write_bytes(item.data)
        (staging / "thumbs" / f"{item.sha1}.jpg").write_bytes(item.thumbnail)
        files[item.product_id] = (item.sha1, suffix)
    return StagedImages(files, staging)


def merge_staged_images(staged: StagedImages, workspace_path: Path) -> None:
    """Moves staged photos into a workspace; content-addressed names never clash."""
    for folder in ("images", "thumbs"):
        target = workspace_path / folder
        target.mkdir(exist_ok=True)
        for item in (staged.folder / folder).iterdir():
            os.replace(item, target / item.name)


def new_staging_dir(root: Path) -> Path:
    """A hidden scratch folder on the same file system as the workspaces (renames stay atomic)."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
