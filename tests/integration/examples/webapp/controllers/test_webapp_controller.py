"""The WebApp controller against the real local control plane (kube-apiserver, etcd,
controller-manager for Deployments and garbage collection, kwok for ready pods)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors, metrics
from kubeweft.runtime.client import Client
from kubeweft.runtime.reconcile import Reconciler, Request, Result
from tests.integration.examples.webapp.controllers.harness import (
    DEADLINE,
    running_controller,
    webapp,
)
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]


async def ready(client: Client, name: str, namespace: str, replicas: int) -> WebApp | None:
    """The WebApp once its status says the current generation is Ready with ``replicas``."""
    obj = await client.get(WebApp, name, namespace)
    status = obj.status
    conditions = {c.type: c.status.value for c in status.conditions}
    if (
        status.observed_generation == obj.metadata.generation
        and status.ready_replicas == replicas
        and conditions.get("Ready") == "True"
    ):
        return obj
    return None


async def deployment_where(
    client: Client, name: str, namespace: str, test: Any
) -> Deployment | None:
    dep = await client.get(Deployment, name, namespace)
    return dep if test(dep) else None


def image_of(dep: Deployment) -> str | None:
    return dep.spec.template.spec.containers[0].image  # type: ignore[union-attr]


async def test_lifecycle_create_update_scale_revert_delete(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    async with running_controller(local_cluster.kubeconfig_path, namespace) as run:
        client = run.client
        created = await client.create(webapp("shop", namespace, replicas=3))

        # Create → Deployment and Service owned by the WebApp; status Ready with 3.
        obj = await wait_until_async(
            lambda: ready(client, "shop", namespace, 3),
            what="3 ready",
            timeout=DEADLINE,
        )
        assert obj.status.service_name == "shop"
        assert obj.status.available_replicas == 3
        for kind in (Deployment, Service):
            owned = await client.get(kind, "shop", namespace)
            (ref,) = owned.metadata.ownerReferences
            assert (ref.kind, ref.name, ref.uid) == ("WebApp", "shop", created.metadata.uid)
            assert ref.controller is True
            assert ref.blockOwnerDeletion is True
        dep = await client.get(Deployment, "shop", namespace)
        assert dep.spec.replicas == 3
        assert image_of(dep) == "nginx:1"

        # Change the image → the Deployment follows.
        await client.patch(WebApp, "shop", {"spec": {"image": "nginx:2"}}, namespace=namespace)
        await wait_until_async(
            lambda: deployment_where(client, "shop", namespace, lambda d: image_of(d) == "nginx:2"),
            what="Deployment image nginx:2",
            timeout=DEADLINE,
        )
        await wait_until_async(
            lambda: ready(client, "shop", namespace, 3),
            what="ready after image",
            timeout=DEADLINE,
        )

        # Change replicas → scaled.
        await client.patch(WebApp, "shop", {"spec": {"replicas": 5}}, namespace=namespace)
        await wait_until_async(
            lambda: ready(client, "shop", namespace, 5),
            what="scaled to 5",
            timeout=DEADLINE,
        )
        assert (await client.get(Deployment, "shop", namespace)).spec.replicas == 5

        # A hand edit of the Deployment → reverted.
        await client.patch(Deployment, "shop", {"spec": {"replicas": 1}}, namespace=namespace)
        await wait_until_async(
            lambda: deployment_where(client, "shop", namespace, lambda d: d.spec.replicas == 5),
            what="hand-edited replicas reverted to 5",
            timeout=DEADLINE,
        )
        # A hand edit of the Service → reverted.
        await client.patch(
            Service, "shop", {"spec": {"selector": {"app": "other"}}}, namespace=namespace
        )

        async def service_selector_restored() -> bool:
            svc = await client.get(Service, "shop", namespace)
            return svc.spec.selector == {  # type: ignore[union-attr]
                "app.kubernetes.io/name": "shop",
                "app.kubernetes.io/instance": "shop",
            }

        await wait_until_async(
            service_selector_restored,
            what="Service selector reverted",
            timeout=DEADLINE,
        )

        # Delete → the controller-manager's garbage collector removes what it owned.
        await client.delete(WebApp, "shop", namespace)

        async def all_gone() -> bool:
            for kind in (Deployment, Service):
                try:
                    await client.get(kind, "shop", namespace)
                except errors.NotFound:
                    continue
                return False
            return True

        await wait_until_async(
            all_gone,
            what="Deployment and Service garbage-collected",
            timeout=DEADLINE,
        )


async def test_no_writes_once_converged(local_cluster: ClusterAccess, namespace: str) -> None:
    async with running_controller(
        local_cluster.kubeconfig_path, namespace, requeue_after=0.5
    ) as run:
        client = run.client
        await client.create(webapp("calm", namespace, replicas=1))
        await wait_until_async(
            lambda: ready(client, "calm", namespace, 1),
            what="ready",
            timeout=DEADLINE,
        )
        versions = [
            (await client.get(kind, "calm", namespace)).metadata.resourceVersion
            for kind in (WebApp, Deployment, Service)
        ]
        # Several periodic reconciles run (requeue_after=0.5 s); none may write.
        periodic = {"controller": "webapp", "result": "requeue_after"}
        before = sample("controller_runtime_reconcile_total", periodic)

        async def five_more() -> bool:
            return sample("controller_runtime_reconcile_total", periodic) >= before + 5

        await wait_until_async(
            five_more,
            what="five more periodic reconciles",
            timeout=DEADLINE,
        )
        after = [
            (await client.get(kind, "calm", namespace)).metadata.resourceVersion
            for kind in (WebApp, Deployment, Service)
        ]
        assert after == versions


def sample(name: str, labels: dict[str, str]) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"image": "nginx:1", "replicas": 1000}, "spec.replicas"),
        ({"replicas": 1}, "spec.image"),
        ({"image": "nginx:1", "ports": [{"name": "http", "port": 0}]}, "spec.ports[0].port"),
    ],
)
def test_invalid_specs_are_rejected_by_the_api_server(
    local_cluster: ClusterAccess, namespace: str, spec: dict[str, Any], field: str
) -> None:
    body = {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": spec,
    }
    with local_cluster.http() as http:
        response = http.post(f"/apis/kubeweft.dev/v1/namespaces/{namespace}/webapps", json=body)
    assert response.status_code == 422, response.text
    causes = response.json()["details"]["causes"]
    assert any(c.get("field") == field for c in causes), causes


class FailingFirst:
    """Raises on the first ``failures`` reconciles of each key, then delegates."""

    def __init__(self, inner: Reconciler, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.calls: dict[Request, int] = {}

    async def reconcile(self, request: Request) -> Result:
        self.calls[request] = self.calls.get(request, 0) + 1
        if self.calls[request] <= self.failures:
            raise RuntimeError(f"injected failure {self.calls[request]}")
        return await self.inner.reconcile(request)


async def test_failing_reconcile_is_retried_with_backoff_and_counted(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    wrappers: list[FailingFirst] = []

    def wrap(inner: Reconciler) -> FailingFirst:
        wrappers.append(FailingFirst(inner, failures=3))
        return wrappers[-1]

    errors_before = sample("controller_runtime_reconcile_errors_total", {"controller": "webapp"})
    retries_before = sample("workqueue_retries_total", {"name": "webapp"})
    async with running_controller(local_cluster.kubeconfig_path, namespace, reconciler=wrap) as run:
        await run.client.create(webapp("flaky", namespace, replicas=1))
        await wait_until_async(
            lambda: ready(run.client, "flaky", namespace, 1),
            what="ready",
            timeout=DEADLINE,
        )
    assert wrappers[0].calls[Request(namespace, "flaky")] > 3
    errors_after = sample("controller_runtime_reconcile_errors_total", {"controller": "webapp"})
    assert errors_after - errors_before >= 3
    assert sample("workqueue_retries_total", {"name": "webapp"}) - retries_before >= 3


@pytest.mark.slow
async def test_every_webapp_converges_across_an_apiserver_restart(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    names = [f"storm-{i:02d}" for i in range(30)]
    async with running_controller(local_cluster.kubeconfig_path, namespace) as run:
        client = run.client
        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(client.create, webapp(name, namespace, replicas=1))

        async def patch_all(image: str) -> None:
            async with anyio.create_task_group() as group:
                for name in names:
                    group.start_soon(
                        lambda n=name: client.patch(
                            WebApp, n, {"spec": {"image": image}}, namespace=namespace
                        )
                    )

        await patch_all("nginx:2")
        # Restart the API server while the reconcile storm is in flight.
        await anyio.to_thread.run_sync(local_cluster.restart_apiserver)
        await patch_all("nginx:3")

        async def all_converged() -> bool:
            for name in names:
                obj = await ready(client, name, namespace, 1)
                if obj is None or obj.spec.image != "nginx:3":
                    return False
                dep = await client.get(Deployment, name, namespace)
                if image_of(dep) != "nginx:3":
                    return False
            return True

        await wait_until_async(
            all_converged,
            what="all 30 WebApps on nginx:3 and Ready",
            timeout=180,
        )
