"""``kubeweft apikey``: create, list and revoke API keys.

The key is printed once, at creation, and cannot be shown again: only its id and the
hash of its secret are stored. The database is the one ``Settings`` names (the same the
server uses), migrated first so the command works on a fresh SQLite file.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

import anyio
import typer

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.db.tables import ApiKey
from kubeweft.db.types import utcnow
from kubeweft.repositories import apikeys
from kubeweft.repositories.errors import NotFoundError, ValidationError
from kubeweft.settings import Settings

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` → a timedelta."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r}: use a positive number and one of s, m, h, d, w")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _run(action: Callable[[Database], Awaitable[T]]) -> T:
    settings = Settings()
    url = settings.resolved_database_url()

    async def main() -> T:
        if settings.migrate_on_start:
            await migrate(url)
        async with Database(url) as database:
            return await action(database)

    return anyio.run(main)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _state(row: ApiKey, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


@app.command("create")
def create_command(
    user: Annotated[str, typer.Option("--user", help="The Kubernetes user the key acts as.")],
    group: Annotated[
        list[str] | None, typer.Option("--group", help="A group of that user (repeatable).")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime, e.g. 30d, 12h, 2w.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
) -> None:
    """Create a key and print it. It is shown only this once."""
    lifetime = parse_duration(expires) if expires else None

    async def create(database: Database) -> tuple[ApiKey, str]:
        async with database.transaction() as session:
            return await apikeys.create_api_key(
                session,
                user=user,
                groups=group or [],
                expires_at=utcnow() + lifetime if lifetime else None,
                description=description,
            )

    try:
        row, token = _run(create)
    except ValidationError as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(token)
    typer.echo(
        f"id {row.id}, user {row.user}, expires {_when(row.expires_at)}."
        " Store the key now: it cannot be shown again.",
        err=True,
    )


@app.command("list")
def list_command(
    user: Annotated[str | None, typer.Option(help="Only this user's keys.")] = None,
) -> None:
    """List keys (never their secrets)."""

    async def rows(database: Database) -> list[ApiKey]:
        async with database.session() as session:
            return await apikeys.list_api_keys(session, user=user)

    now = utcnow()
    header = ("ID", "USER", "GROUPS", "STATE", "CREATED", "EXPIRES", "LAST USED")
    lines = [header] + [
        (
            row.id,
            row.user,
            ",".join(row.groups) or "-",
            _state(row, now),
            _when(row.created_at),
            _when(row.expires_at),
            _when(row.last_used_at),
        )
        for row in _run(rows)
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


@app.command("revoke")
def revoke_command(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key; it stops working at once (the row is kept for the audit trail)."""

    async def revoke(database: Database) -> ApiKey:
        async with database.transaction() as session:
            return await apikeys.revoke_api_key(session, key_id)

    try:
        row = _run(revoke)
    except NotFoundError as error:
        typer.echo(f"no API key with id {key_id!r}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"revoked {row.id} (user {row.user}) at {_when(row.revoked_at)}")
