"""``kubeweft db``: migrate, downgrade and inspect the schema of the configured database.

The URL comes from the same settings as ``kubeweft run`` (``DATABASE_URL`` or the
embedded SQLite file under ``.kubeweft/``), or from ``--database-url``. ``APP`` names
the application as ``kubeweft run`` takes it (``shop.app:app``); its own migration
sets (``App.add_migrations``) run with kubeweft's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import anyio
import typer
from sqlalchemy.engine import make_url

from kubeweft import _importing
from kubeweft.db import migrate as migrations
from kubeweft.db import revision
from kubeweft.db.migrate import MigrationSet
from kubeweft.settings import Settings

app = typer.Typer(help="Database tools: schema migrations.", no_args_is_help=True)

# The application whose migrations run when none is named: the shipped example, named
# by string so that the database layer imports no application.
DEFAULT_APP = "kubeweft.examples.webapp:app"

UrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides DATABASE_URL / the embedded SQLite default."),
]
AppArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="APP",
        help="The application as module:attribute, found in the current directory first "
        f"(default: {DEFAULT_APP}); its own migrations run with kubeweft's.",
        show_default=False,
    ),
]


def _url(database_url: str | None) -> str:
    return database_url or Settings().resolved_database_url()


def _show(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _projects(spec: str | None) -> tuple[MigrationSet, ...]:
    """The migration sets of the application ``spec`` names (read, not imported by type:
    the application layer sits above this one)."""
    try:
        found = _importing.import_from_string(spec or DEFAULT_APP)
    except _importing.ImportFromStringError as error:
        raise typer.BadParameter(str(error), param_hint="APP") from error
    sets = getattr(found, "migrations", None)
    if not isinstance(sets, tuple) or not all(isinstance(s, MigrationSet) for s in sets):
        raise typer.BadParameter(f"{spec} is not a kubeweft.App", param_hint="APP")
    return sets


def _has(project: MigrationSet, revision: str) -> bool:
    from alembic.util import CommandError  # here: `kubeweft run` imports this module

    try:
        return project.script().get_revision(revision) is not None
    except CommandError:  # Alembic's "no such revision"
        return False


def _report(url: str, projects: Sequence[MigrationSet]) -> None:
    """One line for kubeweft's revision, one per project set."""
    current = anyio.run(migrations.current_revision, url)
    head = migrations.head_revision()
    state = "up to date" if current == head else "needs `kubeweft db migrate`"
    typer.echo(f"{_show(url)}: at {current or 'base'}, head {head} ({state})")
    for project in projects:
        at = anyio.run(migrations.set_revisions, url, project)
        heads = project.heads()
        state = "up to date" if at == heads else "needs `kubeweft db migrate APP`"
        typer.echo(
            f"  {project.package} ({project.version_table}): at {', '.join(at) or 'base'}, "
            f"head {', '.join(heads) or 'none'} ({state})"
        )


@app.command("migrate")
def migrate_command(
    application: AppArgument = None,
    revision: Annotated[
        str, typer.Option("--revision", help="kubeweft's target revision.")
    ] = "head",
    database_url: UrlOption = None,
) -> None:
    """Upgrade the schema: kubeweft's revisions, then the application's own."""
    url, projects = _url(database_url), _projects(application)
    anyio.run(lambda: migrations.migrate(url, revision, projects=projects))
    _report(url, projects)


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes every table.")],
    application: AppArgument = None,
    database_url: UrlOption = None,
) -> None:
    """Downgrade kubeweft's schema to REVISION; with APP, the application's own sets instead
    (REVISION one of theirs, or 'base' for all of them)."""
    url = _url(database_url)
    if application is None:
        anyio.run(migrations.downgrade, url, revision)
        typer.echo(f"{_show(url)}: at {anyio.run(migrations.current_revision, url) or 'base'}")
        return
    projects = _projects(application)
    targets = [p for p in projects if revision == "base" or _has(p, revision)]
    if not targets:
        raise typer.BadParameter(f"no migration set of {application} has {revision}")
    for project in targets:
        anyio.run(migrations.downgrade_set, url, project, revision)
    _report(url, projects)


@app.command("revision")
def revision_command(
    application: Annotated[
        str,
        typer.Argument(
            metavar="APP",
            help="The application as module:attribute; the revision goes into its own "
            "migrations package (App.add_migrations).",
        ),
    ],
    message: Annotated[
        str, typer.Option("--message", "-m", help="What the revision does (also the file name).")
    ],
    package: Annotated[
        str | None,
        typer.Option("--package", help="The migrations package, when the application has several."),
    ] = None,
) -> None:
    """Write a new, empty revision into the application's own migrations package, after
    its head; fill in upgrade() and downgrade(), then `kubeweft db migrate APP`."""
    projects = _projects(application)
    chosen = [p for p in projects if package in (None, p.package)]
    names = ", ".join(p.package for p in projects)
    if not projects:
        problem = "no migrations package: add one with app.add_migrations(...)"
    elif not chosen:
        problem = f"no migrations package {package} (it has {names})"
    elif len(chosen) > 1:
        problem = f"several migrations packages ({names}): name one with --package"
    if len(chosen) != 1:
        raise typer.BadParameter(f"{application} has {problem}", param_hint="APP")
    try:
        path = revision.write_revision(chosen[0], message)
    except revision.RevisionError as error:
        typer.echo(f"kubeweft db revision: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"wrote {path}")


@app.command("current")
def current_command(application: AppArgument = None, database_url: UrlOption = None) -> None:
    """Print the database's revisions and the newest ones this code ships."""
    _report(_url(database_url), _projects(application))
