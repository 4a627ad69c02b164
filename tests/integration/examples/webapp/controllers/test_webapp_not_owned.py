"""A WebApp never takes over a Deployment it did not create (local control plane).

An unrelated Deployment that happens to have a WebApp's name — its own image, service
account and volume, no owner — must be left exactly as it is, the WebApp must say why
it is not Ready, and deleting the WebApp must not delete the Deployment (which it would
if the WebApp had become its controller)."""

from __future__ import annotations

import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import (
    ConfigMapVolumeSource,
    Container,
    PodSpec,
    PodTemplateSpec,
    Volume,
)
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Event

from kubeweft.controllerutil import set_controller_reference
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client
from tests.integration.examples.webapp.controllers.harness import (
    DEADLINE,
    running_controller,
    webapp,
)
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.usefixtures("webapp_crd")]


def unrelated_deployment(namespace: str) -> Deployment:
    labels = {"app": "billing"}
    return Deployment(
        metadata=ObjectMeta(name="shop", namespace=namespace, labels=labels),
        spec=DeploymentSpec(
            replicas=0,  # no pods: the Deployment controller settles after one sync
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(
                    serviceAccountName="billing-admin",
                    containers=[Container(name="app", image="billing:7")],
                    volumes=[
                        Volume(name="secrets", configMap=ConfigMapVolumeSource(name="billing"))
                    ],
                ),
            ),
        ),
    )


async def settled(client: Client, namespace: str) -> Deployment | None:
    """The Deployment once its controller is done with it (no more writes of its own)."""
    dep = await client.get(Deployment, "shop", namespace)
    conditions = {c.type: c.reason for c in (dep.status.conditions if dep.status else None) or []}
    done = conditions.get("Progressing") == "NewReplicaSetAvailable"
    return (
        dep
        if done and (dep.metadata.annotations or {}).get("deployment.kubernetes.io/revision")
        else None
    )  # type: ignore[union-attr]


async def not_owned_condition(client: Client, namespace: str) -> str | None:
    status = (await client.get(WebApp, "shop", namespace)).status
    ready = next((c for c in status.conditions if c.type == "Ready"), None)
    degraded = next((c for c in status.conditions if c.type == "Degraded"), None)
    if ready is None or degraded is None or ready.reason != "NotOwned":
        return None
    assert (ready.status.value, degraded.status.value, degraded.reason) == (
        "False",
        "True",
        "NotOwned",
    )
    return ready.message


async def warnings(client: Client, namespace: str) -> list[Event]:
    events = await client.list(
        Event, namespace, field_selector={"involvedObject.name": "shop", "reason": "NotOwned"}
    )
    return [e for e in events.items if e.type == "Warning" and e.involvedObject.kind == "WebApp"]


async def test_unrelated_deployment_with_the_webapps_name_is_left_untouched(
    local_cluster: ClusterAccess, namespace: str
) -> None:
    async with running_controller(
        local_cluster.kubeconfig_path, namespace, requeue_after=0.5
    ) as run:
        client = run.client
        await client.create(unrelated_deployment(namespace))
        before = await wait_until_async(
            lambda: settled(client, namespace), what="the Deployment settled", timeout=DEADLINE
        )
        owner = await client.create(webapp("shop", namespace, image="nginx:1", replicas=3))
        # A witness the garbage collector must delete once the WebApp is gone.
        witness = ConfigMap(metadata=ObjectMeta(name="witness", namespace=namespace))
        set_controller_reference(owner, witness)
        await client.create(witness)

        message = await wait_until_async(
            lambda: not_owned_condition(client, namespace),
            what="Ready=False reason NotOwned",
            timeout=DEADLINE,
        )
        assert message == (
            f"Deployment {namespace}/shop exists and was not created by kubeweft: it has no "
            "controller and no app.kubernetes.io/managed-by=kubeweft label"
        )
        # Several reconciles later (requeue_after=0.5 s): one Event, counted up.
        (event,) = await wait_until_async(
            lambda: warnings(client, namespace),
            accept=lambda found: len(found) == 1 and (found[0].count or 0) >= 3,
            what="a Warning Event NotOwned seen on three reconciles",
            timeout=DEADLINE,
        )
        assert event.message == message

        after = await client.get(Deployment, "shop", namespace)
        assert after.metadata.resourceVersion == before.metadata.resourceVersion  # type: ignore[union-attr]
        assert after.spec == before.spec
        assert after.metadata.ownerReferences is None  # type: ignore[union-attr]
        assert after.metadata.labels == {"app": "billing"}  # type: ignore[union-attr]

        await client.delete(WebApp, "shop", namespace)

        async def witness_collected() -> bool:
            try:
                await client.get(ConfigMap, "witness", namespace)
            except errors.NotFound:
                return True
            return False

        await wait_until_async(
            witness_collected,
            what="garbage collection of the WebApp's dependents",
            timeout=DEADLINE,
        )
        kept = await client.get(Deployment, "shop", namespace)
        assert kept.metadata.resourceVersion == before.metadata.resourceVersion  # type: ignore[union-attr]
