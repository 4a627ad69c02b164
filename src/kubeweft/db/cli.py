"""``kubeweft db``: migrate, downgrade and inspect the schema of the configured database.

The URL comes from the same settings as ``kubeweft run`` (``DATABASE_URL`` or the
embedded SQLite file under ``.kubeweft/``), or from ``--database-url``.
"""

from __future__ import annotations

from typing import Annotated

import anyio
import typer
from sqlalchemy.engine import make_url

from kubeweft.db import migrate as migrations
from kubeweft.settings import Settings

app = typer.Typer(help="Database tools: schema migrations.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides DATABASE_URL / the embedded SQLite default."),
]


def _url(database_url: str | None) -> str:
    return database_url or Settings().resolved_database_url()


def _show(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@app.command("migrate")
def migrate_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: UrlOption = None,
) -> None:
    """Upgrade the schema (to the newest revision unless one is given)."""
    url = _url(database_url)
    anyio.run(migrations.migrate, url, revision)
    typer.echo(f"{_show(url)}: at {anyio.run(migrations.current_revision, url)}")


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    database_url: UrlOption = None,
) -> None:
    """Downgrade the schema to REVISION."""
    url = _url(database_url)
    anyio.run(migrations.downgrade, url, revision)
    typer.echo(f"{_show(url)}: at {anyio.run(migrations.current_revision, url) or 'base'}")


@app.command("current")
def current_command(database_url: UrlOption = None) -> None:
    """Print the database's revision and the newest one this version ships."""
    url = _url(database_url)
    current = anyio.run(migrations.current_revision, url)
    head = migrations.head_revision()
    state = "up to date" if current == head else "needs `kubeweft db migrate`"
    typer.echo(f"{_show(url)}: at {current or 'base'}, head {head} ({state})")
