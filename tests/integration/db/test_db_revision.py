"""``kubeweft db revision APP -m …``: a new, empty revision in the project's own
migrations package, chained on its head, that ``kubeweft db migrate APP`` then applies
on a real SQLite database. The project is a package written into the test's directory."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kubeweft.cli import app
from kubeweft.db.migrate import MigrationSet

APP = """import kubeweft

app = kubeweft.App("{name}")
app.add_migrations("{name}.migrations")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A project package of a name of its own (modules are cached per interpreter)."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    (tmp_path / name / "migrations").mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "migrations" / "__init__.py").write_text("")
    (tmp_path / name / "app.py").write_text(APP.format(name=name))
    monkeypatch.chdir(tmp_path)  # found in the current directory first, as kubeweft run's
    return name


def kubeweft(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_revisions_chain_on_the_head_and_migrate(project: str, tmp_path: Path) -> None:
    first = kubeweft("db", "revision", f"{project}.app:app", "-m", "Add owners table")
    assert first.exit_code == 0, first.output
    second = kubeweft("db", "revision", f"{project}.app:app", "-m", "owners: since column")
    assert second.exit_code == 0, second.output
    files = sorted((tmp_path / project / "migrations").glob("*.py"))
    files.remove(tmp_path / project / "migrations" / "__init__.py")
    assert [path.name[11:] for path in files] == ["add_owners_table.py", "owners_since_column.py"]
    assert all(path.name[:10].replace("_", "").isdigit() for path in files)  # YYYY_MM_DD
    migrations = MigrationSet(f"{project}.migrations", f"alembic_version_{project}")
    script = migrations.script()
    (head,) = migrations.heads()
    assert script.get_revision(head).down_revision == script.get_base()
    assert script.get_revision(head).doc == "owners: since column"
    # The project's own lint settings would pass it, and kubeweft db migrate applies both.
    ruff = Path(sys.executable).parent / "ruff"
    linted = subprocess.run([str(ruff), "check", "--select", "E,F,W,I", *map(str, files)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert linted.returncode == 0, linted.stdout
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    migrated = kubeweft("db", "migrate", f"{project}.app:app", "--database-url", url)
    assert migrated.exit_code == 0, migrated.output
    assert f"at {head}, head {head} (up to date)" in migrated.output


def test_an_existing_file_and_several_heads_are_refused(project: str, tmp_path: Path) -> None:
    assert kubeweft("db", "revision", f"{project}.app:app", "-m", "one").exit_code == 0
    again = kubeweft("db", "revision", f"{project}.app:app", "-m", "one")
    assert again.exit_code == 1
    assert "exists; refusing to overwrite it" in again.stderr
    (path,) = (tmp_path / project / "migrations").glob("*_one.py")
    branch = path.read_text().replace('revision = "', 'revision = "b')  # a second base
    path.with_name("2026_01_01_branch.py").write_text(branch)
    several = kubeweft("db", "revision", f"{project}.app:app", "-m", "three")
    assert several.exit_code == 1
    assert "has several heads" in several.stderr
    assert "merge them first" in several.stderr
