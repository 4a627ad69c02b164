"""A project's own migrations beside kubeweft's, on real databases (SQLite, PostgreSQL).

The project is a package written into the test's directory, as a user's would be: a
migrations package of revision files and nothing else (no ``env.py``, no
``alembic.ini``). Both heads are applied by one ``migrate`` and tracked in their own
version tables; a new project revision is reported pending by name, then applied.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from kubeweft.db.engine import create_engine
from kubeweft.db.migrate import (
    VERSION_TABLE,
    MigrationSet,
    Pending,
    current_revision,
    downgrade_set,
    head_revision,
    migrate,
    pending,
    set_revisions,
)

pytestmark = pytest.mark.anyio

REVISION = '''"""{slug}"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(36), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("{table}")
'''


def write_revision(package: Path, revision: str, down: str | None, table: str) -> None:
    source = REVISION.format(slug=table, revision=revision, down=down, table=table)
    (package / f"2026_12_02_{table}.py").write_text(source)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, MigrationSet]:
    """The package ``<shop>.migrations`` with one revision (table ``shop_orders``); a
    name of its own per test, since an imported package stays in ``sys.modules``."""
    name = f"shop{uuid.uuid4().hex[:8]}"
    package = tmp_path / name / "migrations"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text('"""The shop\'s own revisions."""\n')
    write_revision(package, "shop0001", None, "shop_orders")
    monkeypatch.syspath_prepend(str(tmp_path))
    return package, MigrationSet(f"{name}.migrations", "alembic_version_shop")


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def _versions(url: str, table: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text(f"SELECT version_num FROM {table}"))
            return sorted(row[0] for row in rows)
    finally:
        await engine.dispose()


async def test_both_heads_are_applied_each_in_its_own_version_table(
    database_url: str, shop: tuple[Path, MigrationSet]
) -> None:
    _, migrations = shop
    assert await pending(database_url, [migrations]) == [
        Pending("kubeweft", (), (head_revision(),)),
        Pending(migrations.package, (), ("shop0001",)),
    ]

    await migrate(database_url, projects=[migrations])

    assert await pending(database_url, [migrations]) == []
    assert await current_revision(database_url) == head_revision()
    assert await set_revisions(database_url, migrations) == ("shop0001",)
    assert await _versions(database_url, VERSION_TABLE) == [head_revision()]
    assert await _versions(database_url, "alembic_version_shop") == ["shop0001"]
    assert {"shop_orders", "change_history", "alembic_version_shop"} <= await _tables(database_url)


async def test_a_new_project_revision_is_pending_by_name_then_applied(
    database_url: str, shop: tuple[Path, MigrationSet]
) -> None:
    package, migrations = shop
    await migrate(database_url, projects=[migrations])
    write_revision(package, "shop0002", "shop0001", "shop_refunds")

    (behind,) = await pending(database_url, [migrations])
    assert str(behind) == f"{migrations.package} is at shop0001, needs shop0002"

    await migrate(database_url, projects=[migrations])
    assert await set_revisions(database_url, migrations) == ("shop0002",)
    assert "shop_refunds" in await _tables(database_url)
    await migrate(database_url, projects=[migrations])  # at head: nothing to do
    assert await _versions(database_url, "alembic_version_shop") == ["shop0002"]


async def test_a_project_set_downgrades_alone(
    database_url: str, shop: tuple[Path, MigrationSet]
) -> None:
    _, migrations = shop
    await migrate(database_url, projects=[migrations])

    await downgrade_set(database_url, migrations, "base")

    tables = await _tables(database_url)
    assert "shop_orders" not in tables
    assert "change_history" in tables  # kubeweft's schema is not the project's to drop
    assert await current_revision(database_url) == head_revision()
    assert await set_revisions(database_url, migrations) == ()
    await migrate(database_url, projects=[migrations])
    assert "shop_orders" in await _tables(database_url)


async def test_an_empty_set_as_a_new_project_has_it_migrates_to_nothing(
    database_url: str, shop: tuple[Path, MigrationSet]
) -> None:
    package, migrations = shop
    for revision in package.glob("2026_*.py"):
        revision.unlink()
    await migrate(database_url, projects=[migrations])
    assert await pending(database_url, [migrations]) == []
    assert await set_revisions(database_url, migrations) == ()
