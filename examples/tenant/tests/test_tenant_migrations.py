"""The tenant project's own migrations, as an operator runs them (SQLite file).

``kubeweft run tenant.app:app --no-migrate`` on an empty database refuses to start and
names both pending revisions; ``kubeweft db migrate tenant.app:app`` applies kubeweft's
and the project's, each in its own version table; the migrated ``tenant_owners`` is
exactly what ``tenant.db.tables`` declares; ``kubeweft db downgrade base tenant.app:app``
removes the project's table and leaves kubeweft's schema at head.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from kubeweft.db import create_engine
from sqlalchemy.engine import Connection

from tenant.db.tables import metadata

PROJECT = Path(__file__).resolve().parents[1]


def kubeweft(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBEWEFT_")}
    env["PYTHONPATH"] = str(PROJECT / "src")
    return subprocess.run(
        [str(Path(sys.executable).parent / "kubeweft"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
        env=env,
    )


def drift(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async def run() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                found: list[object] = await conn.run_sync(compare)
                return found
        finally:
            await engine.dispose()

    return anyio.run(run)


def test_run_refuses_a_database_behind_and_db_migrate_applies_both_heads(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tenant.db'}"
    refused = kubeweft(
        "run", "tenant.app:app", "--no-migrate", "--database-url", url,
        "--state-dir", str(tmp_path / "state"),
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "tenant.migrations is at base, needs tenant_0001" in refused.stderr
    assert "kubeweft is at base, needs" in refused.stderr

    migrated = kubeweft("db", "migrate", "tenant.app:app", "--database-url", url)
    assert migrated.returncode == 0, migrated.stderr
    assert (
        "tenant.migrations (alembic_version_tenant): at tenant_0001, head tenant_0001 (up to date)"
    ) in migrated.stdout
    # Only the project's table is compared: kubeweft's are not in the project's metadata.
    assert [d for d in drift(url) if "tenant_owners" in repr(d)] == []

    # The project's revisions go down alone; kubeweft's stay at head.
    down = kubeweft("db", "downgrade", "base", "tenant.app:app", "--database-url", url)
    assert down.returncode == 0, down.stderr
    assert "(up to date)" in down.stdout.splitlines()[0]  # kubeweft's line
    assert "at base, head tenant_0001 (needs `kubeweft db migrate APP`)" in down.stdout
    assert any("tenant_owners" in repr(d) for d in drift(url))  # the table is gone
