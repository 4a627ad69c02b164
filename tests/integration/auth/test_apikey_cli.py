"""``kubeweft apikey create/list/revoke`` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import anyio
import pytest
from typer.testing import CliRunner

from kubeweft.auth.apikeys import ApiKeyAuthenticator
from kubeweft.auth.identity import AuthenticationError, Identity
from kubeweft.cli import app
from kubeweft.db.engine import Database


async def _verify(url: str, token: str) -> Identity:
    async with Database(url) as database:
        return await ApiKeyAuthenticator(database).verify(token)


def test_create_list_revoke(database_url: str) -> None:
    runner = CliRunner()
    env = {"KUBEWEFT_DATABASE_URL": database_url}
    created = runner.invoke(
        app,
        [
            "apikey",
            "create",
            "--user",
            "alice",
            "--group",
            "devs",
            "--group",
            "qa",
            "--expires",
            "30d",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("kw_")
    key_id = token.split("_")[1]

    identity = anyio.run(_verify, database_url, token)
    assert (identity.user, identity.groups) == ("alice", ("devs", "qa"))

    listed = runner.invoke(app, ["apikey", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert key_id in listed.stdout
    assert "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # the secret is never shown again

    revoked = runner.invoke(app, ["apikey", "revoke", key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(AuthenticationError):
        anyio.run(_verify, database_url, token)
    assert "revoked" in runner.invoke(app, ["apikey", "list"], env=env).stdout

    missing = runner.invoke(app, ["apikey", "revoke", "000000000000"], env=env)
    assert missing.exit_code == 1


@pytest.mark.parametrize("expires", ["0d", "soon", "-1h", "5y"])
def test_bad_expiry_refused(database_url: str, expires: str) -> None:
    result = CliRunner().invoke(
        app,
        ["apikey", "create", "--user", "alice", "--expires", expires],
        env={"KUBEWEFT_DATABASE_URL": database_url},
    )
    assert result.exit_code == 2
