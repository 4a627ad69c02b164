"""The mutation cache against the real kube-apiserver: a controller reconciles this
process's own write before the watch has shown it, a read does not go back when the
watch then delivers an older change, and the watch's delivery of the write itself
queues nothing more.

The informer watches through ``tests.support.heldwatch.HeldWatch``, which holds the API
server's events past a resourceVersion until the test lets them through: the watch
delivery the mutation cache saves, made as slow as the test needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment

from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors, metrics
from kubeweft.runtime.builder import ControllerBuilder
from kubeweft.runtime.cache import Cache
from kubeweft.runtime.client import Client
from kubeweft.runtime.manager import Manager
from kubeweft.runtime.predicate import GenerationChanged
from kubeweft.runtime.reconcile import Request, Result
from tests.support.heldwatch import held_cache
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]

NAME = "web"


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


class ImageReconciler:
    """Remembers the image of each Deployment it reconciled, as read from the cache."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.images: list[str] = []

    async def reconcile(self, request: Request) -> Result:
        try:
            deployment = await self.cache.get(Deployment, request.name, request.namespace)
        except errors.NotFound:
            return Result()
        self.images.append(image_of(deployment))
        return Result()


def image_of(deployment: Deployment) -> str:
    assert deployment.spec is not None
    assert deployment.spec.template.spec is not None
    return deployment.spec.template.spec.containers[0].image or ""


def deployment(namespace: str) -> Deployment:
    labels = {"app": NAME}
    return Deployment(
        metadata=meta_v1.ObjectMeta(name=NAME, namespace=namespace),
        spec=apps_v1.DeploymentSpec(
            replicas=0,
            selector=meta_v1.LabelSelector(matchLabels=labels),
            template=core_v1.PodTemplateSpec(
                metadata=meta_v1.ObjectMeta(labels=labels),
                spec=core_v1.PodSpec(containers=[core_v1.Container(name="c", image="nginx:1")]),
            ),
        ),
    )


def version(obj: Any) -> int:
    return int(obj.metadata.resourceVersion)


async def until(condition: Callable[[], bool], what: str) -> None:
    async def check() -> bool:
        return condition()

    await wait_until_async(check, what=what, interval=0.02)


def adds(controller: str) -> float:
    value = metrics.REGISTRY.get_sample_value("workqueue_adds_total", {"name": controller})
    return value or 0.0


async def test_a_controller_reconciles_the_processs_write_before_the_watch_shows_it(
    client: Client, namespace: str
) -> None:
    held, cache = held_cache(client, namespace)
    manager = Manager(client, cache)
    reconciler = ImageReconciler(cache)
    controller = (
        ControllerBuilder(manager)
        .named(f"it-mutation-{namespace}")
        .for_(Deployment, GenerationChanged())
        .complete(reconciler)
    )
    informer = cache.informer_for(Deployment)
    async with anyio.create_task_group() as tg:
        await tg.start(manager.run)
        created = await client.create(deployment(namespace))
        await until(lambda: reconciler.images == ["nginx:1"], "the create reconciled")
        # From here the watch shows nothing newer than the create.
        held.hold(through=version(created))
        # Someone else's change (no spec change), then this process's spec write.
        older = await client.patch(
            Deployment, NAME, {"metadata": {"labels": {"x": "1"}}}, namespace=namespace
        )
        containers = [{"name": "c", "image": "nginx:2"}]
        written = await client.patch(
            Deployment,
            NAME,
            {"spec": {"template": {"spec": {"containers": containers}}}},
            namespace=namespace,
        )
        assert cache.mutation(written)
        await until(lambda: reconciler.images[-1:] == ["nginx:2"], "the write reconciled")
        assert int(informer.resource_version or 0) < version(written)  # not from the watch
        queued_before = adds(controller.name)

        # The older change comes through: the read stays on the write.
        held.hold(through=version(older))
        assert await cache.wait_for_resource_version(Deployment, str(version(older)), 30.0)
        assert image_of(await cache.get(Deployment, NAME, namespace)) == "nginx:2"

        # The watch catches up: the store has the write, and the controller, which
        # heard of it already, is not told again.
        held.release()
        assert await cache.wait_for_resource_version(Deployment, str(version(written)), 30.0)
        stored = await cache.get(Deployment, NAME, namespace)
        assert (image_of(stored), (stored.metadata.labels or {}).get("x")) == ("nginx:2", "1")  # type: ignore[union-attr]
        assert adds(controller.name) == queued_before
        tg.cancel_scope.cancel()
