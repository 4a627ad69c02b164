"""Tests build ``Settings`` from their own arguments, never from the developer's shell."""

from __future__ import annotations

import os

from kubeweft.settings import Settings


def test_the_shell_s_kubeweft_settings_are_not_seen() -> None:
    # Checked from inside a test: the autouse fixture in tests/conftest.py ran first.
    seen = [
        name
        for name in os.environ
        if name in ("KUBECONFIG", "DATABASE_URL")
        or (
            name.startswith("KUBEWEFT_")
            and not name.startswith(("KUBEWEFT_TEST_", "KUBEWEFT_LOCALCLUSTER_"))
        )
    ]
    assert seen == []
    settings = Settings()
    assert settings.database_url is None
    assert settings.kubeconfig is None
