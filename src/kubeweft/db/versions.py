"""Schema versions read without Alembic: the heads a directory of revision files declares,
and the revisions a database's version table holds.

Importing Alembic costs ≈ 10 MiB of resident memory for the life of the process (it
loads the operations, autogenerate and every SQLAlchemy dialect), while almost every
start finds the database already at its newest revision. ``kubeweft.db.migrate`` asks
this module first and imports Alembic only when a revision is pending. A directory
whose revision files are not plain literals (computed ids, ``depends_on``, branch
labels) has no heads here (``None``), and the caller asks Alembic.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

__all__ = ["declared_heads", "stored_revisions"]

_FIELDS = ("revision", "down_revision", "branch_labels", "depends_on")


def declared_heads(directory: Path) -> tuple[str, ...] | None:
    """The revisions in ``directory`` no other revision builds on, sorted; ``None`` when
    a file is not one this reading understands."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in directory.glob("*.py"):
        if path.name == "__init__.py":
            continue  # a migration set's package marker; Alembic skips it as well
        fields = _literal_fields(path)
        if fields is None:
            return None
        revision, down = fields.get("revision"), fields.get("down_revision")
        if not isinstance(revision, str) or fields.get("branch_labels") or fields.get("depends_on"):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
    return tuple(sorted(revisions - parents))


def stored_revisions(connection: Connection, version_table: str) -> tuple[str, ...]:
    """The revisions ``version_table`` holds, sorted (empty: no table, unmigrated)."""
    if not inspect(connection).has_table(version_table):
        return ()
    versions = table(version_table, column("version_num"))
    rows = connection.execute(select(versions.c.version_num)).scalars()
    return tuple(sorted(str(row) for row in rows))


def _literal_fields(path: Path) -> dict[str, object] | None:
    """The module-level ``revision = "…"``-style assignments of ``path``, as values."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    fields: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _FIELDS:
            try:
                fields[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    return fields
