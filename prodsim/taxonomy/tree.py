"""A category tree a person uploads: paths such as "Home > Kitchen > Kettles", one per line, read and checked.

Reading never half-succeeds: a file that cannot make a usable tree raises :class:`BadInputError` with the lines to
mend, and lines that can simply be left out (duplicates, a name repeated inside its own path) are reported in
``CategoryTree.skipped``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from prodsim.errors import BadInputError
from prodsim.review import MAX_GROUP_NAME, SEPARATOR

# Accepted between levels; a file uses one of them (the one on most lines), so a "/" inside a name such as
# "Men/Women" is kept when the file separates levels with ">".
SEPARATORS = (">", "»", "|", "/", "\\")
MAX_TREE_BYTES = 20_000_000
# Every product is scored against every leaf; beyond this many the scores and the review list stop being useful.
MAX_LEAVES = 20_000
MAX_DEPTH = 10
MAX_NAME_CHARS = 120
MAX_REPORTED = 5


@dataclass(frozen=True)
class CategoryTree:
    """Root-to-leaf paths of a tree, in file order, each a tuple of names (a path that is the start of a longer
    one is an inner node, not a leaf).

    Attributes:
        paths: one tuple of names per leaf.
        skipped: what was left out of the file and why, for the person who uploaded it.
    """

    paths: tuple[tuple[str, ...], ...]
    skipped: tuple[str, ...] = field(default=())

    @property
    def leaves(self) -> list[str]:
        """Each leaf's whole path as text ("A > B > C"), the names decisions and exports use."""
        return [SEPARATOR.join(path) for path in self.paths]

    @property
    def depth(self) -> int:
        return max(len(path) for path in self.paths)

    def nodes(self) -> list[tuple[str, ...]]:
        """Every node (inner ones and leaves) once, parents before children."""
        seen: dict[tuple[str, ...], None] = {}
        for path in self.paths:
            for level in range(1, len(path) + 1):
                seen.setdefault(path[:level])
        return list(seen)

    def level_counts(self) -> dict[str, int]:
        """How many nodes each level has: {"level_1": 7, "level_2": 62, ...}."""
        counts: dict[str, int] = {}
        for node in self.nodes():
            counts[f"level_{len(node)}"] = counts.get(f"level_{len(node)}", 0) + 1
        return counts

    def to_text(self) -> str:
        return "\n".join(self.leaves) + "\n"


def clean_name(name: str) -> str:
    """NFC, no control characters, single spaces."""
    name = unicodedata.normalize("NFC", name)
    return re.sub(r"\s+", " ", "".join(c if unicodedata.category(c)[0] != "C" else " " for c in name)).strip()


def read_tree(data: bytes, filename: str = "tree.txt") -> CategoryTree:
    """Reads a tree from a text file (one path per line) or a CSV file (a path column, or one column per level).

    Raises:
        BadInputError: the file is empty, too large or not text, mixes separators, has empty or over-long names,
            is deeper than MAX_DEPTH, has more than MAX_LEAVES leaves, or fewer than two leaves.
    """
    if len(data) > MAX_TREE_BYTES:
        raise BadInputError(f"{filename} is {len(data) / 1e6:.0f} MB; a category tree file is kept under "
                            f"{MAX_TREE_BYTES // 1_000_000} MB.")
    text = _decode(data, filename)
    rows = _csv_rows(text) if filename.lower().endswith(".csv") else [(n, line) for n, line in enumerate(text.splitlines(), 1)]
    rows = [(number, line) for number, line in rows if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise BadInputError(f"{filename} holds no category paths; write one path per line, e.g. 'Home > Kitchen > Kettles'.")
    separator = _separator(rows, filename)
    skipped: list[str] = []
    paths: dict[tuple[str, ...], int] = {}
    folded: dict[tuple[str, ...], tuple[str, ...]] = {}
    empty, too_long, too_deep = [], [], []
    for number, line in rows:
        names = tuple(clean_name(part) for part in (line.split(separator) if separator else [line]))
        if any(not name for name in names):
            empty.append(number)
            continue
        if any(len(name) > MAX_NAME_CHARS for name in names):
            too_long.append(number)
            continue
        if len(names) > MAX_DEPTH or len(SEPARATOR.join(names)) > MAX_GROUP_NAME:
            too_deep.append(number)
            continue
        if len({name.casefold() for name in names}) < len(names):
            skipped.append(f"line {number}: '{SEPARATOR.join(names)}' names the same category twice in one path (a cycle)")
            continue
        key = tuple(name.casefold() for name in names)
        if key in folded:
            first = paths[folded[key]]
            skipped.append(f"line {number}: '{SEPARATOR.join(names)}' repeats line {first}")
            continue
        folded[key] = names
        paths[names] = number
    for numbers, problem in ((empty, "an empty category name (two separators in a row, or one at an end)"),
                             (too_long, f"a category name longer than {MAX_NAME_CHARS} characters"),
                             (too_deep, f"more than {MAX_DEPTH} levels or a path longer than {MAX_GROUP_NAME} characters")):
        if numbers:
            raise BadInputError(f"{filename}: {_lines(numbers)} {'has' if len(numbers) == 1 else 'have'} {problem}. "
                                "Mend the file and upload it again; nothing was changed.")
    leaves = _leaves(list(paths))
    if len(leaves) > MAX_LEAVES:
        raise BadInputError(f"{filename} has {len(leaves):,} leaf categories; prodsim files products into at most "
                            f"{MAX_LEAVES:,}. Upload the upper levels of the tree (for example its first three).")
    if len(leaves) < 2:
        raise BadInputError(f"{filename} has one leaf category ('{SEPARATOR.join(leaves[0])}'); filing needs at least two "
                            "to choose between.")
    return CategoryTree(tuple(leaves), tuple(skipped))


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInputError(f"{filename} is not a text file; upload a .txt or .csv file with one category path per line.")
    for encoding in ("utf-8-sig", "utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "gb18030", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadInputError(f"{filename} is not readable text (tried UTF-8, GB18030 and Windows-1252).")


def _csv_rows(text: str) -> list[tuple[int, str]]:
    """(line number, path) from a CSV: a column named path or category, else every filled cell of a row as levels."""
    table = list(csv.reader(io.StringIO(text)))
    if not table:
        return []
    header = [cell.strip().casefold() for cell in table[0]]
    named = next((i for i, cell in enumerate(header) if cell in ("path", "category", "category path", "category_path")), None)
    levels = [i for i, cell in enumerate(header) if re.fullmatch(r"(level|l|category_l|category_level)[ _]?\d+", cell)]
    if named is not None:
        return [(n, row[named] if named < len(row) else "") for n, row in enumerate(table[1:], 2)]
    start = 1 if levels else 0
    return [(n, SEPARATOR.join(cell for cell in row if cell.strip())) for n, row in enumerate(table[start:], start + 1)]


def _separator(rows: list[tuple[int, str]], filename: str) -> str | None:
    uses = {sep: sum(sep in line for _, line in rows) for sep in SEPARATORS}
    separator = max(uses, key=uses.get)
    if not uses[separator]:
        return None  # a one-level tree
    mixed = [n for n, line in rows if separator not in line and any(other in line for other in SEPARATORS)]
    if mixed:
        other = next(o for o in SEPARATORS if o != separator and any(o in line for n, line in rows if n in set(mixed)))
        raise BadInputError(f"{filename} separates levels with '{separator}' on most lines but with '{other}' on "
                            f"{_lines(mixed)}; use one separator throughout. Nothing was changed.")
    return separator


def _leaves(paths: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Paths that are not the start of a longer path; a parent spelt with other capitals takes the first spelling."""
    canonical: dict[tuple[str, ...], tuple[str, ...]] = {}
    for path in paths:
        for level in range(1, len(path) + 1):
            canonical.setdefault(tuple(name.casefold() for name in path[:level]), path[:level])
    spelt = [tuple(canonical[tuple(n.casefold() for n in path[:level])][-1] for level in range(1, len(path) + 1))
             for path in paths]
    inner = {path[:level] for path in spelt for level in range(1, len(path))}
    return [path for path in spelt if path not in inner]


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:MAX_REPORTED])
    more = f" and {len(numbers) - MAX_REPORTED:,} more" if len(numbers) > MAX_REPORTED else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"
