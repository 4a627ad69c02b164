"""A new, empty revision in a project's own migrations package (``kubeweft db revision``).

A project's revisions are plain files beside the package's ``__init__.py`` (no
``env.py``, no ``script.py.mako``), named ``YYYY_MM_DD_slug.py`` as kubeweft's own. A
new one is chained on the set's single head, so the set stays one line of revisions;
with several heads the command refuses and names them (merge them first).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from kubeweft.db.migrate import MigrationSet

__all__ = ["RevisionError", "write_revision"]

_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises:{down}
"""

import sqlalchemy as sa  # noqa: F401 (for the columns upgrade() will add)
from alembic import op  # noqa: F401

revision = "{revision}"
down_revision = {down_value}
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


class RevisionError(Exception):
    """The revision cannot be written (several heads, an existing file, no message)."""


def write_revision(project: MigrationSet, message: str, *, now: datetime | None = None) -> Path:
    """Write an empty revision saying ``message`` into ``project``'s package, after its
    head; the new file's path."""
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    if not slug:
        raise RevisionError("give a message (-m) naming what the revision does")
    heads = project.heads()
    if len(heads) > 1:
        raise RevisionError(
            f"{project.package} has several heads ({', '.join(heads)}); merge them first"
        )
    down = heads[0] if heads else None
    when = now or datetime.now(UTC)
    path = project.directory() / f"{when:%Y_%m_%d}_{slug}.py"
    if path.exists():
        raise RevisionError(f"{path} exists; refusing to overwrite it")
    from alembic.util import rev_id  # here: `kubeweft run` imports this module, not Alembic

    revision = rev_id()
    path.write_text(
        _TEMPLATE.format(
            message=message.strip(),
            revision=revision,
            down=f" {down}" if down else "",
            down_value=repr(down),
        )
    )
    return path
