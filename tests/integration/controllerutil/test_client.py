"""The delegating client against the real API server: a reconciler reads its own status
patch back from the cache before the watch has shown it.

Without that, a reconcile that follows the previous one's status patch by less than a
watch delivery computes the status from the old one, finds nothing to change and
writes nothing, and the first patch's status stays until something else wakes the
object (a rollout's last status change, lost: ``readyReplicas`` left at the surge's 2).
The watch is held back (``tests.support.heldwatch``) so the race is certain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from kubeweft.controllerutil import DelegatingClient, patch_status
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from tests.support.heldwatch import held_cache

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as client:
        yield client


def with_ready(webapp: WebApp, ready: int) -> WebApp:
    changed = webapp.model_copy(deep=True)
    changed.status.ready_replicas = ready
    return changed


async def test_a_status_patch_is_read_back_before_the_watch_shows_it(
    client: Client, namespace: str
) -> None:
    held, cache = held_cache(client, namespace)
    delegating = DelegatingClient(cache, client)
    body = {"metadata": {"name": "shop", "namespace": namespace}, "spec": {"image": "nginx:1"}}
    async with anyio.create_task_group() as group:
        await group.start(cache.run)
        created = await client.create(WebApp.model_validate(body))
        assert await cache.wait_for_resource_version(
            WebApp, str(created.metadata.resourceVersion), 30.0
        )
        held.hold(through=int(created.metadata.resourceVersion or 0))

        # One reconcile: the rollout surged to two ready replicas.
        first = await delegating.get(WebApp, "shop", namespace)
        assert await patch_status(delegating, with_ready(first, 2), first)
        # The next, before the watch shows that patch: back to none ready.
        second = await delegating.get(WebApp, "shop", namespace)
        assert second.status.ready_replicas == 2  # its own write, not the watch's
        assert await patch_status(delegating, with_ready(second, 0), second)

        held.release()
        live = await client.get(WebApp, "shop", namespace)
        assert live.status.ready_replicas == 0
        group.cancel_scope.cancel()
