"""What ``kubeweft run`` imports when nothing asks for JWTs, OIDC or webhooks.

PyJWT and cryptography cost ≈ 8 MiB of an idle process's memory; they load with the
first setting or request that needs them (``docs/design/performance.md``). Alembic
(≈ 7 MiB) loads only when a migration is pending (``tests/integration/db``), and
PostgreSQL's SQLAlchemy dialect (≈ 2 MiB) only with a PostgreSQL database; httpx
(≈ 5 MiB; the Kubernetes client is on httpx2) with OIDC or a local cluster. Checked in
a fresh interpreter, since this test process has imported them long ago.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import kubeweft.cli
    from kubeweft.auth.config import build_authenticator
    from kubeweft.examples.webapp.app import app
    from kubeweft.settings import Settings
    from kubeweft.ui.session import Sessions
    from kubeweft.webhook.setup import webhook_runnables

    settings = Settings(state_dir=Path("state"))
    build_authenticator(settings, client=None, database=None)
    sessions = Sessions.new(None, max_age_seconds=60, secure=False)
    assert webhook_runnables("kubeweft", app.webhooks, settings, client=None) == (None, None)
    unused = ("jwt", "cryptography", "alembic", "sqlalchemy.dialects.postgresql", "httpx")
    print(" ".join(m for m in unused if m in sys.modules))
    """
)


def test_an_idle_process_does_not_import_jwt_cryptography_or_alembic() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_sealing_a_session_loads_cryptography_then() -> None:
    from kubeweft.ui.session import Sessions

    sessions = Sessions.new(None, max_age_seconds=60, secure=False)
    assert sessions.open(sessions.seal("token")) == "token"
    assert sessions.open("forged") is None
