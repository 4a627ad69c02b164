"""The files a scaffold writes: rendered from templates, checked, then written at once.

Every check runs before the first write, so a refused command leaves the directory as
it found it. A file is one of three sorts: a new file (refused if the path exists — it
may hold the user's work), a package ``__init__.py`` (kept if present), or a change to
an existing file (``app.py`` at its markers; ``config/`` manifests, which are generated).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path, PurePosixPath

_PLACEHOLDER = re.compile(r"\{\{ *([a-z_]+) *\}\}")


class ScaffoldError(Exception):
    """The scaffold cannot be written (an existing file, a bad name, a missing marker)."""


class Mode(Enum):
    CREATE = "create"  # refuse if the path exists
    KEEP = "keep"  # write only if the path does not exist
    REPLACE = "replace"  # a change to a file the scaffold owns or edits at markers


@dataclass(frozen=True)
class PlannedFile:
    path: PurePosixPath  # relative to the project's root
    content: str
    mode: Mode = Mode.CREATE


def render(template: str, **values: str) -> str:
    """The template ``templates/<template>`` with each ``{{ name }}`` replaced.

    A placeholder without a value is an error, so a template and its caller cannot drift
    apart silently; ``$`` and braces of Makefiles, Dockerfiles and YAML are left alone.
    """
    text = resources.files("kubeweft.scaffold").joinpath("templates", template).read_text()

    def value(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise ScaffoldError(f"template {template}: no value for {match.group(1)}") from None

    return _PLACEHOLDER.sub(value, text)


def insert_at_marker(source: str, marker: str, lines: Sequence[str]) -> str:
    """``source`` with each of ``lines`` inserted just above the line holding ``marker``
    (at its indentation), unless that line is already there: inserting twice is a no-op.
    """
    rows = source.splitlines(keepends=True)
    at = next((i for i, row in enumerate(rows) if marker in row), None)
    if at is None:
        raise ScaffoldError(f"no {marker!r} marker line to insert at")
    indent = rows[at][: len(rows[at]) - len(rows[at].lstrip())]
    present = {row.strip() for row in rows}
    new = [f"{indent}{line}\n" for line in lines if line.strip() not in present]
    return "".join(rows[:at] + new + rows[at:])


def insert_imports(source: str, marker: str, package: str, lines: Sequence[str]) -> str:
    """``source`` with the ``from <package>...`` import ``lines`` merged into the block of
    such imports above the line holding ``marker``, sorted as ruff's isort sorts them
    (by module, natural order), and one blank line between that block and the marker —
    so a project's ``app.py`` passes its own lint after every ``create api``."""
    rows = source.splitlines(keepends=True)
    at = next((i for i, row in enumerate(rows) if marker in row), None)
    if at is None:
        raise ScaffoldError(f"no {marker!r} marker line to insert at")
    end = at
    while end > 0 and not rows[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and rows[start - 1].startswith(f"from {package}."):
        start -= 1
    if start == end:  # no block yet: it starts right above the marker
        start = end = at
    block = {row.rstrip("\n") for row in rows[start:end]} | set(lines)
    merged = [f"{row}\n" for row in sorted(block, key=_import_order)]
    gap = rows[end:at] or ["\n"]
    return "".join(rows[:start] + merged + gap + rows[at:])


def uncomment_at_markers(source: str, marker: str) -> str:
    """``source`` with the block below each line holding ``marker`` (up to a blank line
    or the next marker) enabled: lines ``kubeweft init`` wrote commented out, as
    kubebuilder's ``[WEBHOOK]`` lines are, lose one ``#`` (``##`` stays a comment). Only
    a block of comment lines alone is changed, so doing it twice is a no-op."""
    rows = source.splitlines(keepends=True)
    at = [i for i, row in enumerate(rows) if marker in row]
    for start, stop in zip(at, [*at[1:], len(rows)], strict=True):
        block = range(start + 1, stop)
        end = next((i for i in block if not rows[i].strip()), stop)
        if all(rows[i].startswith("#") for i in range(start + 1, end)):
            for i in range(start + 1, end):
                rows[i] = rows[i][1:]
    return "".join(rows)


def _import_order(line: str) -> list[int | str]:
    module = line.split()[1]
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", module)]


def apply(
    root: Path,
    files: Sequence[PlannedFile],
    *,
    dry_run: bool,
    echo: Callable[[str], None],
) -> list[PlannedFile]:
    """Write ``files`` under ``root`` (or, with ``dry_run``, only say what would be
    written); return the files written. Raises :class:`ScaffoldError` naming the first
    existing file a new file would overwrite, before anything is written."""
    for planned in files:
        target = root / planned.path
        if planned.mode is Mode.CREATE and (target.exists() or target.is_symlink()):
            raise ScaffoldError(f"{planned.path} exists; refusing to overwrite it")
    changes = [planned for planned in files if not _nothing_to_do(root, planned)]
    for planned in changes:
        verb = "change" if (root / planned.path).exists() else "write"
        if dry_run:
            echo(f"would {verb} {planned.path}")
            continue
        target = root / planned.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(planned.content)
        echo(f"{'changed' if verb == 'change' else 'wrote'} {planned.path}")
    return changes


def _nothing_to_do(root: Path, planned: PlannedFile) -> bool:
    target = root / planned.path
    if planned.mode is Mode.KEEP:
        return target.exists()
    if planned.mode is Mode.REPLACE:
        return target.is_file() and target.read_text() == planned.content
    return False
