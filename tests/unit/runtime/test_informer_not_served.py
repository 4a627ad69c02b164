"""SharedInformer on the in-memory client when its custom kind's CRD is not served:
an error naming the resource, once and then at a bounded rate, and the informer syncs
as soon as the CRD is back."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime import errors, informer
from kubeweft.runtime.client import ObjectList
from kubeweft.runtime.informer import InformerOptions, SharedInformer
from kubeweft.runtime.objects import K
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio

NOT_SERVED = (
    "webapps.kubeweft.dev v1 is not served: is the CRD installed? "
    "kubeweft manifests | kubectl apply -f -"
)


class CrdMissing(FakeClient):
    """Answers a list of any kind 404, as the API server does for an unknown resource."""

    def __init__(self) -> None:
        super().__init__()
        self.missing = True
        self.lists = 0
        self._target = 0
        self._reached = anyio.Event()

    async def list_all(self, kind: type[K], *args: Any, **options: Any) -> ObjectList[K]:
        self.lists += 1
        if self.lists >= self._target:
            self._reached.set()
        if self.missing:
            raise errors.NotFound(404, "NotFound", "404 page not found")
        return await super().list_all(kind, *args, **options)


def fast_retries() -> InformerOptions:
    return InformerOptions(resync_period=None, backoff_initial=0.001, backoff_max=0.001)


async def retried(client: CrdMissing, times: int) -> None:
    """Return once the informer has listed ``times`` times."""
    client._target, client._reached = times, anyio.Event()
    with anyio.fail_after(30):
        await client._reached.wait()


async def test_a_missing_crd_is_named_once_and_the_informer_syncs_when_it_is_back() -> None:
    client = CrdMissing()
    watched = SharedInformer(client, WebApp, fast_retries())  # type: ignore[arg-type]
    with capture_logs() as logs:
        async with anyio.create_task_group() as group:
            group.start_soon(watched.run)
            await retried(client, 20)
            client.missing = False
            with anyio.fail_after(30):
                await watched.wait_for_sync()
            group.cancel_scope.cancel()
    errors_logged = [entry for entry in logs if entry["log_level"] == "error"]
    assert [entry["event"] for entry in errors_logged] == [NOT_SERVED]
    assert errors_logged[0]["crd"] == "webapps.kubeweft.dev"


async def test_the_error_is_repeated_once_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(informer, "NOT_SERVED_LOG_INTERVAL", 0.0)
    client = CrdMissing()
    watched = SharedInformer(client, WebApp, fast_retries())  # type: ignore[arg-type]
    with capture_logs() as logs:
        async with anyio.create_task_group() as group:
            group.start_soon(watched.run)
            await retried(client, 5)
            group.cancel_scope.cancel()
    repeated = [entry["event"] for entry in logs if entry["log_level"] == "error"]
    assert len(repeated) >= 4
    assert set(repeated) == {NOT_SERVED}
