"""A test that cannot get a real component skips locally and fails under CI."""

from __future__ import annotations

import pytest

from kubeweft.localcluster.pytest_plugin import unavailable


@pytest.mark.parametrize("value", ["true", "1", "yes", "True"])
def test_fails_with_the_cause_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no PostgreSQL binaries"):
        unavailable("no PostgreSQL binaries")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL binaries"):
        unavailable("no PostgreSQL binaries")
