"""Product photos: reading archives and folders safely, decoding, matching and thumbnails."""

from __future__ import annotations

import base64
import hashlib
import io
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from prodsim.catalog import IMAGE_SUFFIXES
from prodsim.errors import BadInputError
from prodsim.limits import MAX_ZIP_RATIO, human_size, max_unzipped_bytes, max_upload_bytes

THUMBNAIL_PX = 192


@dataclass(frozen=True)
class ImageFile:
    """One file from an archive or folder; ``read()`` gives its bytes."""

    name: str  # path inside the archive or folder, with forward slashes
    size: int
    _reader: object

    def read(self) -> bytes:
        """Returns the file's bytes."""
        return self._reader()

    @property
    def stem(self) -> str:
        """File name without folders and suffix, e.g. ``abc`` for ``photos/abc.jpg``."""
        return PurePosixPath(self.name).stem

    @property
    def basename(self) -> str:
        """File name without folders."""
        return PurePosixPath(self.name).name


def list_image_source(source: str | Path | bytes, name: str = "archive") -> list[ImageFile]:
    """Lists the files of a ZIP (path or bytes) or a folder, refusing unsafe archives.

    Raises:
        BadInputError: a ZIP with ``..`` or absolute paths (zip slip), one that expands to more
            than ``MAX_ZIP_RATIO`` times its size or past the configured cap (zip bomb), or one
            that is not a ZIP at all. Nothing is extracted before these checks pass.
    """
    if isinstance(source, (str, Path)) and not Path(source).exists():
        raise BadInputError(f"{source} does not exist: give a ZIP archive or a folder of photos.")
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        root = Path(source)
        return [ImageFile(p.relative_to(root).as_posix(), p.stat().st_size, p.read_bytes)
                for p in sorted(root.rglob("*")) if p.is_file()]
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
    if isinstance(source, (str, Path)):
        name = Path(source).name
    if len(data) > max_upload_bytes():
        raise BadInputError(f"{name} is {human_size(len(data))}, over the {human_size(max_upload_bytes())} upload limit. Split the photos into several archives.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise BadInputError(f"{name} is not a ZIP archive. Upload the photos as a .zip file.") from err
    members = [m for m in archive.infolist() if not m.is_dir()]
    unsafe = [m.filename for m in members if _is_unsafe(m.filename)]
    if unsafe:
        raise BadInputError(
            f"{name} was refused: {len(unsafe)} entries point outside the archive (e.g. '{unsafe[0]}'). "
            "Create the ZIP again from the folder of photos.")
    unpacked = sum(m.file_size for m in members)
    if unpacked > max(len(data), 1) * MAX_ZIP_RATIO or unpacked > max_unzipped_bytes():
        raise BadInputError(
            f"{name} was refused: it would unpack to {human_size(unpacked)} from {human_size(len(data))}, "
            f"more than the {MAX_ZIP_RATIO}x ratio or the {human_size(max_unzipped_bytes())} cap allowed for photos.")
    return [ImageFile(_entry_name(m), m.file_size, lambda m=m: archive.read(m)) for m in members]


def _entry_name(member: zipfile.ZipInfo) -> str:
    """The entry's name as its maker meant it, in NFC: without the UTF-8 flag, zipfile reads names as CP437, while
    many tools wrote UTF-8 (or GBK on Chinese Windows) there; macOS writes decomposed accents (NFD)."""
    name = member.filename
    if not member.flag_bits & 0x800:
        raw = name.encode("cp437", errors="replace")
        for encoding in ("utf-8", "gbk"):
            try:
                name = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    return unicodedata.normalize("NFC", name)


def _unreadable_entry(error: Exception) -> str:
    """Why an archive entry cannot be read, for the report."""
    text = str(error)
    if "encrypted" in text or "password" in text:
        return "the entry is encrypted (password-protected); add it to the archive without a password"
    if isinstance(error, NotImplementedError):
        return "the entry is compressed with a method prodsim cannot read; make the ZIP again with standard compression"
    return f"the entry is damaged in the archive ({text}); make the ZIP again"


UNREADABLE_ENTRY = (RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, EOFError, OSError)


def _is_unsafe(member: str) -> bool:
    path = PurePosixPath(member.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(member) > 1 and member[1] == ":")


def is_image_name(name: str) -> bool:
    """True for file names with an image suffix, ignoring hidden and macOS metadata files."""
    path = PurePosixPath(name)
    hidden = path.name.startswith(".") or "__MACOSX" in path.parts
    return not hidden and path.suffix.lower() in IMAGE_SUFFIXES


def load_rgb(data: bytes) -> Image.Image:
    """Decodes image bytes into an upright RGB picture.

    EXIF orientation is applied; CMYK, palette, greyscale and alpha images become RGB, with
    transparency composited on white (product shots on transparent backgrounds).

    Raises:
        ValueError: with a short reason, for empty, truncated, unknown or oversized images.
    """
    if not data:
        raise ValueError("the file is empty (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ValueError("the picture is too large to open safely (decompression bomb limit)") from err
        except UnidentifiedImageError as err:
            raise ValueError("not a picture prodsim can read") from err
        except (OSError, SyntaxError) as err:
            raise ValueError(f"the picture is damaged or truncated ({err})") from err
    image = ImageOps.exif_transpose(image)
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def thumbnail_jpeg(image: Image.Image, size: int = THUMBNAIL_PX) -> bytes:
    """Returns a JPEG thumbnail no larger than ``size`` pixels on its longest side."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def small_thumbnail_uris(thumbnail_paths: list, size: int = 96) -> list[str | None]:
    """Data URIs of very small JPEGs (about 2 KB each) for hover previews and shared reports.

    Args:
        thumbnail_paths: a stored thumbnail path per product, or None for products without a photo.
    """
    uris: list[str | None] = []
    for path in thumbnail_paths:
        if path is None:
            uris.append(None)
            continue
        with Image.open(path) as image:
            small = thumbnail_jpeg(image.convert("RGB"), size)
        uris.append(data_uri(small))
    return uris


def content_hash(data: bytes) -> str:
    """Stable short hash of file contents; names stored photos and keys cached vectors."""
    return hashlib.sha1(data).hexdigest()


@dataclass
class MatchedImage:
    """A photo assigned to a product, decoded and checked."""

    product_id: str
    file: ImageFile
    data: bytes
    sha1: str
    thumbnail: bytes


@dataclass
class ImageMatch:
    """Result of matching photo files to product rows."""

    matched: list[MatchedImage]
    unmatched: list[str]
    corrupt: list[dict]
    skipped: list[str]


def _assign_files(files: list[ImageFile], products: pd.DataFrame) -> tuple[list[tuple[str, ImageFile]], list[str], list[str]]:
    """(product id, file) for each photo file whose name names a product, and the names of unmatched and skipped files.

    A file matches when its name (or its name without suffix) equals the product's ``image_file`` value without
    folders, or its stem equals the product id, compared in NFC; case is ignored where the name fits one product only.
    """
    exact: dict[str, str] = {}
    for pid, image_file in zip(products["id"], products["image_file"]):
        if image_file:
            exact[_key(PurePosixPath(image_file.replace("\\", "/")).name)] = pid
        exact.setdefault(_key(str(pid)), pid)
    # Case is ignored only where that names one product: ids "ab1" and "AB1" keep their own photos.
    folded: dict[str, set[str]] = {}
    for key, pid in exact.items():
        folded.setdefault(key.casefold(), set()).add(pid)

    def product_for(name: str) -> str | None:
        key = _key(name)
        if key in exact:
            return exact[key]
        owners = folded.get(key.casefold(), ())
        return next(iter(owners)) if len(owners) == 1 else None
    candidates, unmatched, skipped = [], [], []
    for f in files:
        if not is_image_name(f.name):
            if not PurePosixPath(f.name).name.startswith(".") and "__MACOSX" not in f.name:
                skipped.append(f.name)
            continue
        pid = product_for(f.basename) or product_for(f.stem)
        if pid is None:
            unmatched.append(f.name)
        else:
            candidates.append((pid, f))
    return candidates, unmatched, skipped


def match_images(files: list[ImageFile], products: pd.DataFrame, progress=None) -> ImageMatch:
    """Assigns photo files to products by the image-file column, else by the product id (see _assign_files).

    Entries that cannot be read (encrypted, damaged) are reported as corrupt.

    Args:
        files: from :func:`list_image_source`.
        products: the product table (``id`` and ``image_file`` columns).
        progress: optional callable(done, total) while photos are decoded.
    """
    candidates, unmatched, skipped = _assign_files(files, products)
    result = ImageMatch([], unmatched, [], skipped)
    seen: set[str] = set()
    for done, (pid, f) in enumerate(candidates, 1):
        if pid in seen:
            result.unmatched.append(f.name)
            continue
        decoded = _read_and_thumbnail(f)
        if isinstance(decoded, str):
            result.corrupt.append({"file": f.name, "reason": decoded})
        else:
            seen.add(pid)
            data, thumb = decoded
            result.matched.append(MatchedImage(pid, f, data, content_hash(data), thumb))
        if progress:
            progress(done, len(candidates))
    return result


def photo_hashes(files: list[ImageFile], products: pd.DataFrame) -> dict[str, str]:
    """The content hash of each product's photo in ``files``, without decoding (to tell whether a photo changed)."""
    hashes: dict[str, str] = {}
    for pid, f in _assign_files(files, products)[0]:
        if pid not in hashes:
            try:
                hashes[pid] = content_hash(f.read())
            except UNREADABLE_ENTRY:
                continue  # reported when the update reads the photos
    return hashes



PLACEHOLDER_URI = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" rx="6" fill="#eef0f3"/>'
    b'<path d="M18 44l10-12 8 9 6-7 8 10z" fill="#c5cad3"/><circle cx="40" cy="24" r="4" fill="#c5cad3"/></svg>').decode()


def _read_and_thumbnail(file: ImageFile) -> tuple[bytes, bytes] | str:
    """The photo's bytes and thumbnail, or why it cannot be used."""
    try:
        data = file.read()
    except UNREADABLE_ENTRY as err:
        return _unreadable_entry(err)
    try:
        return data, thumbnail_jpeg(load_rgb(data))
    except ValueError as err:
        return str(err)


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name)


def data_uri(jpeg: bytes) -> str:
    """A JPEG as a data URI (for image columns and reports)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
