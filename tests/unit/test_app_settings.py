"""Controller-runtime settings reach what they configure when ``kubeweft run`` wires a
process: the reconcile timeout (the WebApp controller), the resync period (the
informers) and the metric sampling interval (the WebApp reconciler's requeue). What
each does is tested where it lives: tests/unit/runtime/test_controller.py (a reconcile
past its timeout is cancelled, counted and retried), tests/unit/runtime/test_informer.py
(the resync period) and tests/unit/examples/webapp/controllers (the requeue interval)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubeweft.app import Process
from kubeweft.db.engine import Database
from kubeweft.examples.webapp import app
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.controller import Controller
from kubeweft.settings import Settings
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KUBEWEFT_") or name in ("KUBECONFIG", "DATABASE_URL"):
            monkeypatch.delenv(name)


async def test_runtime_settings_are_wired_into_the_process(tmp_path: Path) -> None:
    settings = Settings(
        enable_api=False,
        state_dir=tmp_path,
        reconcile_timeout_seconds=7.0,
        resync_period_seconds=123.0,
        metric_sample_interval_seconds=11.0,
    )
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}")
    process = Process(app, settings, database, FakeClient())  # type: ignore[arg-type]
    assert process.cache.informer_for(WebApp).options.resync_period == 123.0
    # The manager holds the controller it was given; nothing else exposes it.
    (controller,) = [r for r in process.manager._leader_runnables if isinstance(r, Controller)]
    assert controller.options.reconcile_timeout == 7.0
    assert controller.options.max_concurrent_reconciles == settings.workers
    # The reconciler runs inside the framework's reconcile log and history.
    assert controller.reconciler.inner.options.requeue_after == 11.0  # type: ignore[attr-defined]
