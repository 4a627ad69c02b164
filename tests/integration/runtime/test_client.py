"""Client against the real kube-apiserver of the local control plane: CRUD, status
subresource, server-side apply, typed errors, pagination, watch with bookmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import ConfigMap as ConfigMapResource

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client, PatchType, WatchEvent
from kubeweft.runtime.objects import controller_owner, owner_reference

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


@pytest.fixture
async def client(local_cluster: ClusterAccess, webapp_crd: str) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


def webapp(name: str, namespace: str, replicas: int = 1) -> WebApp:
    return WebApp(
        metadata={"name": name, "namespace": namespace},
        spec=WebAppSpec(image="nginx:1.27", replicas=replicas),
    )


def deployment(name: str, namespace: str) -> Deployment:
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels),
        spec=DeploymentSpec(
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="web", image="nginx:1.27")]),
            ),
        ),
    )


async def test_crud_of_a_custom_resource_and_its_status(client: Client, namespace: str) -> None:
    created = await client.create(webapp("web", namespace, replicas=2))
    assert created.metadata.uid
    assert created.metadata.generation == 1

    fetched = await client.get(WebApp, "web", namespace)
    assert fetched.spec.replicas == 2

    fetched.spec.replicas = 3
    updated = await client.update(fetched)
    assert updated.metadata.generation == 2

    updated.status.ready_replicas = 3
    updated.status.observed_generation = 2
    with_status = await client.update_status(updated)
    assert with_status.status.ready_replicas == 3
    assert with_status.metadata.generation == 2  # status writes do not bump generation

    patched = await client.patch(
        WebApp, "web", {"spec": {"image": "nginx:1.28"}}, namespace=namespace
    )
    assert patched.spec.image == "nginx:1.28"
    assert patched.status.ready_replicas == 3

    status_patched = await client.patch(
        WebApp, "web", {"status": {"replicas": 5}}, namespace=namespace, subresource="status"
    )
    assert status_patched.status.replicas == 5

    await client.delete(WebApp, "web", namespace)
    with pytest.raises(errors.NotFound):
        await client.get(WebApp, "web", namespace)


async def test_typed_errors_from_the_api_server(client: Client, namespace: str) -> None:
    with pytest.raises(errors.NotFound):
        await client.get(WebApp, "missing", namespace)
    first = await client.create(webapp("dup", namespace))
    with pytest.raises(errors.AlreadyExists):
        await client.create(webapp("dup", namespace))

    current = await client.get(WebApp, "dup", namespace)
    current.spec.replicas = 4
    await client.update(current)
    first.spec.replicas = 5  # carries the old resourceVersion
    with pytest.raises(errors.Conflict):
        await client.update(first)

    bad = webapp("bad", namespace)
    bad.spec.replicas = 1000
    with pytest.raises(errors.Invalid) as info:
        await client.create(bad)
    assert any(cause.field == "spec.replicas" for cause in info.value.causes), info.value.causes


async def test_core_objects_owner_references_and_server_side_apply(
    client: Client, namespace: str
) -> None:
    owner = await client.create(webapp("owner", namespace))
    dep = deployment("owned", namespace)
    assert dep.metadata is not None
    dep.metadata.ownerReferences = [owner_reference(owner)]
    created = await client.create(dep)
    ref = controller_owner(created)
    assert ref is not None
    assert ref.uid == owner.metadata.uid

    desired = deployment("applied", namespace)
    assert desired.spec is not None
    desired.spec.replicas = 2
    applied = await client.apply(desired, field_manager="kubeweft-test")
    assert applied.spec is not None
    assert applied.spec.replicas == 2

    # Another manager changes replicas: re-applying without force conflicts, with force wins.
    await client.patch(
        Deployment,
        "applied",
        {"spec": {"replicas": 5}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
        field_manager="someone-else",
    )
    with pytest.raises(errors.Conflict):
        await client.apply(desired, field_manager="kubeweft-test")
    forced = await client.apply(desired, field_manager="kubeweft-test", force=True)
    assert forced.spec is not None
    assert forced.spec.replicas == 2

    json_patched = await client.patch(
        Deployment,
        "applied",
        [{"op": "replace", "path": "/spec/replicas", "value": 1}],
        namespace=namespace,
        patch_type=PatchType.JSON,
    )
    assert json_patched.spec is not None
    assert json_patched.spec.replicas == 1


async def test_list_pagination_and_selectors(client: Client, namespace: str) -> None:
    for index in range(7):
        labels = {"batch": "a" if index < 4 else "b"}
        await client.create(
            ConfigMapResource(
                metadata=ObjectMeta(name=f"cm-{index}", namespace=namespace, labels=labels)
            )
        )
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = await client.list(
            ConfigMapResource,
            namespace,
            limit=3,
            continue_token=token,
            label_selector={"batch": "a"} if False else None,
        )
        pages += 1
        names.extend(
            cm.metadata.name
            for cm in page.items
            if cm.metadata and cm.metadata.name and cm.metadata.name.startswith("cm-")
        )
        token = page.continue_token
        if not token:
            break
    assert pages >= 3
    assert sorted(names) == [f"cm-{i}" for i in range(7)]

    selected = await client.list(ConfigMapResource, namespace, label_selector={"batch": "a"})
    assert len(selected.items) == 4
    not_b = await client.list(ConfigMapResource, namespace, label_selector="batch!=b,batch")
    assert len(not_b.items) == 4
    by_field = await client.list(ConfigMapResource, namespace, field_selector="metadata.name=cm-5")
    assert [cm.metadata.name for cm in by_field.items if cm.metadata] == ["cm-5"]
    everything = await client.list_all(ConfigMapResource, namespace, page_size=2)
    assert (
        len(
            [
                cm
                for cm in everything.items
                if cm.metadata and (cm.metadata.name or "").startswith("cm-")
            ]
        )
        == 7
    )


async def test_watch_from_a_resource_version_sees_later_changes(
    client: Client, namespace: str
) -> None:
    start = await client.list(WebApp, namespace)
    await client.create(webapp("w1", namespace))
    await client.patch(WebApp, "w1", {"spec": {"replicas": 2}}, namespace=namespace)
    await client.delete(WebApp, "w1", namespace)

    seen: list[WatchEvent[WebApp]] = []
    with anyio.fail_after(30):
        async for event in client.watch(WebApp, namespace, resource_version=start.resource_version):
            seen.append(event)
            if event.type == "DELETED":
                break
    kinds = [e.type for e in seen if e.type != "BOOKMARK"]
    assert kinds == ["ADDED", "MODIFIED", "DELETED"]
    assert seen[1].object is not None
    assert seen[1].object.spec.replicas == 2
    assert int(seen[-1].resource_version) > int(start.resource_version)


async def test_watch_surfaces_bookmarks(client: Client, namespace: str) -> None:
    """A watch that matches nothing still learns the server's progress through bookmarks
    (the API server sends one shortly before a watch's timeoutSeconds expires, once the
    kind's resourceVersion has moved on)."""
    start = await client.list(ConfigMapResource, namespace)
    bookmarks: list[str] = []

    async def churn() -> None:
        for index in range(100):
            await client.create(
                ConfigMapResource(metadata=ObjectMeta(name=f"churn-{index}", namespace=namespace))
            )
            await anyio.sleep(0.2)

    async def watch() -> None:
        async for event in client.watch(
            ConfigMapResource,
            namespace,
            resource_version=start.resource_version,
            label_selector="matches=nothing",
            timeout_seconds=8,
        ):
            assert event.type == "BOOKMARK"
            assert event.object is None
            bookmarks.append(event.resource_version)

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(churn)
            await watch()
            group.cancel_scope.cancel()
    assert bookmarks, "no BOOKMARK event before the watch timed out"
    assert int(bookmarks[-1]) > int(start.resource_version)


async def test_watch_from_a_compacted_version_raises_gone(client: Client, namespace: str) -> None:
    with pytest.raises(errors.Gone):  # noqa: PT012 - the error surfaces while iterating
        with anyio.fail_after(30):
            async for _ in client.watch(WebApp, namespace, resource_version="1"):
                pass


async def test_create_subject_access_review(client: Client) -> None:
    review = SubjectAccessReview(
        spec=SubjectAccessReviewSpec(
            user="alice",
            resourceAttributes=ResourceAttributes(
                verb="delete", group="kubeweft.dev", resource="webapps", namespace="default"
            ),
        )
    )
    answered = await client.create(review)
    assert answered.status is not None
    assert answered.status.allowed is False


async def test_impersonation_is_subject_to_rbac(client: Client, namespace: str) -> None:
    nobody = client.impersonating("nobody-in-particular", ["system:authenticated"])
    with pytest.raises(errors.Forbidden):
        await nobody.get(WebApp, "anything", namespace)
