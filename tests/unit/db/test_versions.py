"""Schema versions read without Alembic (``kubeweft.db.versions``), checked against
Alembic's own reading of the same files, and a version table on a real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from kubeweft.db import versions
from kubeweft.db.migrate import MIGRATIONS_DIR

REVISION = '''"""{revision}"""
from alembic import op

revision{annotation} = "{revision}"
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def write(
    directory: Path,
    revision: str,
    down: str | tuple[str, ...] | None,
    *,
    labels: tuple[str, ...] | None = None,
    annotation: str = "",
) -> None:
    source = REVISION.format(revision=revision, down=down, labels=labels, annotation=annotation)
    (directory / f"2026_12_02_{revision}.py").write_text(source)


def alembic_heads(directory: Path) -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory(directory, version_locations=[directory]).get_heads()))


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "__init__.py").write_text("")
    return tmp_path


def test_kubeweft_s_packaged_heads_are_alembic_s() -> None:
    directory = MIGRATIONS_DIR / "versions"
    assert versions.declared_heads(directory) == alembic_heads(directory)
    assert len(versions.declared_heads(directory) or ()) == 1


def test_the_tenant_example_s_heads_are_alembic_s() -> None:
    directory = Path(__file__).parents[3] / "examples/tenant/src/tenant/migrations"
    assert versions.declared_heads(directory) == alembic_heads(directory)
    assert versions.declared_heads(directory)


def test_branches_and_a_merge(package: Path) -> None:
    write(package, "a1", None, annotation=": str")
    write(package, "b1", "a1")
    write(package, "c1", "a1")
    assert versions.declared_heads(package) == ("b1", "c1") == alembic_heads(package)
    write(package, "d1", ("b1", "c1"))
    assert versions.declared_heads(package) == ("d1",) == alembic_heads(package)


def test_an_empty_set_has_no_heads(package: Path) -> None:
    assert versions.declared_heads(package) == () == alembic_heads(package)


@pytest.mark.parametrize(
    "source",
    [
        'revision = "r" + "1"\ndown_revision = None\n',  # computed: Alembic runs the file
        "down_revision = None\n",  # no revision id
        'revision = "r1"\ndown_revision = 3\n',
        "revision = (\n",  # not Python
    ],
)
def test_a_file_beyond_literals_leaves_it_to_alembic(package: Path, source: str) -> None:
    write(package, "a1", None)
    (package / "2026_12_02_other.py").write_text(source)
    assert versions.declared_heads(package) is None


def test_branch_labels_leave_it_to_alembic(package: Path) -> None:
    write(package, "a1", None, labels=("shop",))
    assert versions.declared_heads(package) is None


def test_stored_revisions_of_a_real_sqlite_version_table() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        assert versions.stored_revisions(connection, "shop_version") == ()
        connection.execute(text("CREATE TABLE shop_version (version_num VARCHAR(32))"))
        assert versions.stored_revisions(connection, "shop_version") == ()
        connection.execute(text("INSERT INTO shop_version VALUES ('c1'), ('b1')"))
        assert versions.stored_revisions(connection, "shop_version") == ("b1", "c1")
    engine.dispose()
