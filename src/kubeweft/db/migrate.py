"""Schema migrations, run from code: at start-up and by ``kubeweft db``.

The Alembic scripts ship inside the package (``kubeweft/db/migrations``), so an
installed wheel can migrate its own database. On PostgreSQL the upgrade runs inside
one transaction holding ``pg_advisory_xact_lock``: when several replicas start at
once, one migrates and the others wait, then find the schema at head and do nothing.
PostgreSQL's DDL is transactional, so a failed migration leaves the old schema.

A project's own tables come with their own revisions (:class:`MigrationSet`): a package
of Alembic revision files, tracked in a version table of its own, so its heads never
meet kubeweft's (``alembic_version``) or another project's. ``migrate`` runs kubeweft's
revisions and then every set's, in the same transaction under the same lock. A set
needs no ``env.py``: the revisions are run here, on the connection kubeweft opened.

Alembic itself is imported only when something is pending: the version tables are
compared with the heads the revision files declare first (``kubeweft.db.versions``),
which is what almost every start finds, and saves the ≈ 10 MiB Alembic keeps resident.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from kubeweft.db import versions
from kubeweft.db.engine import create_engine

if TYPE_CHECKING:  # Alembic is imported only when a revision is pending (db/versions.py)
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary, fixed 64-bit key: "kubeweft" in ASCII.
ADVISORY_LOCK_KEY = 0x6B75_6265_7765_6674
#: kubeweft's own version table (Alembic's default name).
VERSION_TABLE = "alembic_version"
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class MigrationsNotFound(ValueError):
    """A migration set's package cannot be imported or is not a directory of revisions."""


@dataclass(frozen=True)
class MigrationSet:
    """A project's own Alembic revisions and the version table that tracks them.

    ``package`` is an importable package (``"shop.migrations"``) whose directory holds
    the revision files beside its ``__init__.py``; ``version_table`` keeps their heads
    apart from kubeweft's and every other set's.
    """

    package: str
    version_table: str

    def __post_init__(self) -> None:
        if not _TABLE_NAME.match(self.version_table) or self.version_table == VERSION_TABLE:
            raise ValueError(
                f"version_table {self.version_table!r} must be a lower-case SQL name of at "
                f"most 63 characters, other than kubeweft's {VERSION_TABLE!r}"
            )

    def directory(self) -> Path:
        try:
            spec = importlib.util.find_spec(self.package)
        except ModuleNotFoundError as error:
            raise MigrationsNotFound(f"migrations {self.package!r}: {error}") from error
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations:
            raise MigrationsNotFound(
                f"migrations {self.package!r}: not an importable package (a directory with "
                "an __init__.py beside its revision files)"
            )
        return Path(locations[0])

    def script(self) -> ScriptDirectory:
        from alembic.script import ScriptDirectory

        directory = self.directory()
        return ScriptDirectory(directory, version_locations=[directory])

    def heads(self) -> tuple[str, ...]:
        return tuple(sorted(self.script().get_heads()))


@dataclass(frozen=True)
class Pending:
    """A migration set whose database revision is not its newest one."""

    name: str  # "kubeweft", or the set's package
    current: tuple[str, ...]
    heads: tuple[str, ...]

    def __str__(self) -> str:
        at = ", ".join(self.current) or "base"
        return f"{self.name} is at {at}, needs {', '.join(self.heads)}"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the packaged scripts (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("no migrations found")
    return head


async def _run(url: str, fn: Any, *args: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
            return await conn.run_sync(fn, *args)
    finally:
        await engine.dispose()


def _with_connection(connection: Connection, action: str, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _run_set(connection: Connection, migrations: MigrationSet, action: str, revision: str) -> None:
    """Run a set's revisions on ``connection``: what ``alembic upgrade``/``downgrade`` does
    through an ``env.py``, done here so that a project's package holds revisions only."""
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext

    script = migrations.script()

    def steps(current: Any, _: MigrationContext) -> Any:
        if action == "upgrade":
            return script._upgrade_revs(revision, current)
        return script._downgrade_revs(revision, current)

    with EnvironmentContext(Config(), script, fn=steps, destination_rev=revision) as env:
        env.configure(
            connection=connection,
            version_table=migrations.version_table,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with env.begin_transaction():
            env.run_migrations()


def _at_heads(connection: Connection, projects: Sequence[MigrationSet]) -> bool:
    """Every version table holds exactly the heads its revision files declare (read
    without Alembic; False when the files are beyond that reading)."""
    sets = [(VERSION_TABLE, MIGRATIONS_DIR / "versions")]
    sets += [(p.version_table, p.directory()) for p in projects]
    for version_table, directory in sets:
        heads = versions.declared_heads(directory)
        if heads is None or versions.stored_revisions(connection, version_table) != heads:
            return False
    return True


def _upgrade_all(connection: Connection, revision: str, projects: Sequence[MigrationSet]) -> None:
    if revision == "head" and _at_heads(connection, projects):
        return
    _with_connection(connection, "upgrade", revision)
    for migrations in projects:
        _run_set(connection, migrations, "upgrade", "heads")


def _set_heads(connection: Connection, migrations: MigrationSet) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection, opts={"version_table": migrations.version_table}
    )
    return tuple(sorted(context.get_current_heads()))


def _pending(connection: Connection, projects: Sequence[MigrationSet]) -> list[Pending]:
    if _at_heads(connection, projects):
        return []
    found = []
    own, head = _current(connection), head_revision()
    if own != head:
        found.append(Pending("kubeweft", (own,) if own else (), (head,)))
    for migrations in projects:
        current, heads = _set_heads(connection, migrations), migrations.heads()
        if current != heads:
            found.append(Pending(migrations.package, current, heads))
    return found


async def migrate(
    url: str, revision: str = "head", *, projects: Sequence[MigrationSet] = ()
) -> None:
    """Upgrade the database at ``url``: kubeweft's revisions to ``revision`` (default:
    the newest), then every project set to its heads, in one transaction."""
    await _run(url, _upgrade_all, revision, projects)


async def pending(url: str, projects: Sequence[MigrationSet] = ()) -> list[Pending]:
    """Which sets (kubeweft's first) are not at their newest revision; empty when none."""
    result: list[Pending] = await _run(url, _pending, projects)
    return result


async def downgrade_set(url: str, migrations: MigrationSet, revision: str) -> None:
    """Downgrade one project set to ``revision`` (``base`` removes its tables)."""
    await _run(url, _run_set, migrations, "downgrade", revision)


async def set_revisions(url: str, migrations: MigrationSet) -> tuple[str, ...]:
    """The revisions a project set's version table holds (empty: unmigrated)."""
    result: tuple[str, ...] = await _run(url, _set_heads, migrations)
    return result


async def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` empties it)."""
    await _run(url, _with_connection, "downgrade", revision)


async def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    result: str | None = await _run(url, _current)
    return result
