"""What ``kubeweft run`` imports when nothing asks for JWTs, OIDC, webhooks or a page.

PyJWT and cryptography cost ≈ 8 MiB of an idle process's memory; they load with the
first setting or request that needs them (``docs/design/performance.md``). Alembic
(≈ 7 MiB) loads only when a migration is pending (``tests/integration/db``), and
PostgreSQL's SQLAlchemy dialect (≈ 2 MiB) only with a PostgreSQL database; httpx
(≈ 5 MiB; the Kubernetes client is on httpx2) with OIDC or a local cluster. Checked in
a fresh interpreter, since this test process has imported them long ago. Jinja2 and
the compiled templates (≈ 2 MiB) load with the first dashboard page; rich and pygments
(≈ 3.5 MiB), which structlog imports whenever they are installed, not at all.
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
    unused = (
        "jwt",
        "cryptography",
        "alembic",
        "sqlalchemy.dialects.postgresql",
        "httpx",
        "jinja2",
        "rich",
        "pygments",
    )
    print(" ".join(m for m in unused if m in sys.modules))
    """
)


def test_an_idle_process_does_not_import_what_only_some_requests_need() -> None:
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


CONSOLE_TRACEBACK = textwrap.dedent(
    """
    import sys

    from kubeweft.logging import configure_logging, get_logger

    configure_logging("INFO", "console")
    try:
        1 / 0
    except ZeroDivisionError:
        get_logger("probe").exception("it failed")
    print("rich" in sys.modules)
    """
)


def test_a_console_log_shows_a_plain_traceback_without_rich() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CONSOLE_TRACEBACK],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert "it failed" in result.stderr
    assert "Traceback (most recent call last):" in result.stderr
    assert "ZeroDivisionError: division by zero" in result.stderr
