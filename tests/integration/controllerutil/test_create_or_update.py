"""controllerutil against the real API server of the local control plane: what
create_or_update writes (and does not), which objects it refuses, and a status patch
from a stale copy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio
import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.controllerutil import (
    MANAGED_BY_LABEL,
    DelegatingClient,
    NotOwnedError,
    OperationResult,
    create_or_update,
    patch_status,
    set_controller_reference,
)
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors, objects
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.informer import InformerOptions
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as client:
        yield client


async def config_map(client: Client, namespace: str, name: str, **meta: object) -> ConfigMap:
    cm = ConfigMap(metadata=ObjectMeta(name=name, namespace=namespace, **meta), data={"k": "v"})
    return await client.create(cm)


def named(namespace: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="child", namespace=namespace))


def greeting(text: str) -> Callable[[ConfigMap], None]:
    def mutate(cm: ConfigMap) -> None:
        cm.data = {**(cm.data or {}), "greeting": text}

    return mutate


async def version(client: Client, namespace: str) -> str | None:
    return (await client.get(ConfigMap, "child", namespace)).metadata.resourceVersion  # type: ignore[union-attr]


async def test_created_unchanged_updated(client: Client, namespace: str) -> None:
    owner = await config_map(client, namespace, "owner")

    child = named(namespace)
    result = await create_or_update(client, child, greeting("hello"), owner=owner)
    assert result is OperationResult.CREATED
    live = await client.get(ConfigMap, "child", namespace)
    assert live.data == {"greeting": "hello"}
    assert live.metadata.labels == {MANAGED_BY_LABEL: "kubeweft"}  # type: ignore[union-attr]
    (ref,) = live.metadata.ownerReferences  # type: ignore[union-attr, misc]
    assert (ref.kind, ref.uid, ref.controller) == ("ConfigMap", owner.metadata.uid, True)  # type: ignore[union-attr]
    assert child.metadata.resourceVersion == live.metadata.resourceVersion  # type: ignore[union-attr]

    # The same wish again: no write at all, so the resourceVersion stays.
    before = await version(client, namespace)
    again = named(namespace)
    assert await create_or_update(client, again, greeting("hello"), owner=owner) == (
        OperationResult.UNCHANGED
    )
    assert await version(client, namespace) == before
    assert again.data == {"greeting": "hello"}

    # A field someone else added is kept; ours changes.
    await client.patch(ConfigMap, "child", {"data": {"theirs": "x"}}, namespace=namespace)
    assert await create_or_update(client, named(namespace), greeting("bye"), owner=owner) == (
        OperationResult.UPDATED
    )
    assert (await client.get(ConfigMap, "child", namespace)).data == {
        "greeting": "bye",
        "theirs": "x",
    }


async def test_object_controlled_by_another_owner_is_refused(
    client: Client, namespace: str
) -> None:
    owner = await config_map(client, namespace, "owner")
    other = await config_map(client, namespace, "other")
    theirs = ConfigMap(
        metadata=ObjectMeta(
            name="child", namespace=namespace, labels={MANAGED_BY_LABEL: "kubeweft"}
        ),
        data={"k": "theirs"},
    )
    set_controller_reference(other, theirs)
    await client.create(theirs)
    before = await client.get(ConfigMap, "child", namespace)

    with pytest.raises(NotOwnedError) as caught:
        await create_or_update(client, named(namespace), greeting("mine"), owner=owner)

    assert caught.value.owner.uid == other.metadata.uid  # type: ignore[union-attr]
    assert f"controlled by ConfigMap other (uid {other.metadata.uid})" in str(caught.value)  # type: ignore[union-attr]
    after = await client.get(ConfigMap, "child", namespace)
    assert after.metadata.resourceVersion == before.metadata.resourceVersion  # type: ignore[union-attr]
    assert after.data == {"k": "theirs"}


async def test_unowned_unlabelled_object_is_refused(client: Client, namespace: str) -> None:
    owner = await config_map(client, namespace, "owner")
    before = await config_map(client, namespace, "child")
    with pytest.raises(NotOwnedError) as caught:
        await create_or_update(client, named(namespace), greeting("mine"), owner=owner)
    assert caught.value.owner is None
    after = await client.get(ConfigMap, "child", namespace)
    assert after.metadata.resourceVersion == before.metadata.resourceVersion  # type: ignore[union-attr]
    assert after.metadata.ownerReferences is None  # type: ignore[union-attr]


async def test_orphan_carrying_our_label_is_adopted(client: Client, namespace: str) -> None:
    owner = await config_map(client, namespace, "owner")
    await config_map(client, namespace, "child", labels={MANAGED_BY_LABEL: "kubeweft"})
    result = await create_or_update(client, named(namespace), greeting("hi"), owner=owner)
    assert result is OperationResult.UPDATED
    live = await client.get(ConfigMap, "child", namespace)
    assert [r.uid for r in live.metadata.ownerReferences or []] == [owner.metadata.uid]  # type: ignore[union-attr]


@pytest.mark.usefixtures("webapp_crd")
async def test_status_patch_from_a_stale_copy_does_not_conflict(
    client: Client, namespace: str
) -> None:
    body = {"metadata": {"name": "shop", "namespace": namespace}, "spec": {"image": "nginx:1"}}
    stale = await client.create(WebApp.model_validate(body))
    first = objects.deep_copy(stale)
    first.status.replicas = 1
    await client.update_status(first)  # the controller's previous write
    second = objects.deep_copy(stale)
    second.status.replicas = 2
    with pytest.raises(errors.Conflict):
        await client.update_status(second)  # what the stale copy's resourceVersion gets

    assert await patch_status(client, second, stale)

    assert (await client.get(WebApp, "shop", namespace)).status.replicas == 2
    assert not await patch_status(client, stale, stale)


async def test_a_cache_scoped_to_the_managed_by_label(client: Client, namespace: str) -> None:
    """Owned kinds cached by the managed-by label: a stranger's object is neither cached
    nor taken over (read from the API server after AlreadyExists), ours with the label
    removed by hand is relabelled — and so comes back into the cache."""
    owner = await config_map(client, namespace, "owner")
    await config_map(client, namespace, "child")  # someone else's, no label
    options = CacheOptions(
        defaults=InformerOptions(namespace=namespace),
        owned_label_selector={MANAGED_BY_LABEL: "kubeweft"},
    )
    cache = Cache(client, options)
    assert cache.informer_for(ConfigMap, owned=True).options.label_selector == {
        MANAGED_BY_LABEL: "kubeweft"
    }
    reader = DelegatingClient(cache, client)

    async def cached() -> set[str]:
        return {cm.metadata.name for cm in await cache.list(ConfigMap, namespace)}  # type: ignore[union-attr]

    async with anyio.create_task_group() as group:
        await group.start(cache.run)
        assert await cached() == set()  # "owner" and "child" carry no label
        with pytest.raises(NotOwnedError, match="was not created by kubeweft"):
            await create_or_update(reader, named(namespace), greeting("hi"), owner=owner)

        mine = ConfigMap(metadata=ObjectMeta(name="mine", namespace=namespace))
        assert await create_or_update(reader, mine, greeting("hi"), owner=owner) is (
            OperationResult.CREATED
        )
        await wait_until_async(cached, what="ours cached", accept=lambda names: names == {"mine"})
        await client.patch(ConfigMap, "mine", {"metadata": {"labels": None}}, namespace=namespace)
        await wait_until_async(cached, what="unlabelled dropped", accept=lambda names: not names)
        again = ConfigMap(metadata=ObjectMeta(name="mine", namespace=namespace))
        assert await create_or_update(reader, again, greeting("hi"), owner=owner) is (
            OperationResult.UPDATED
        )
        await wait_until_async(cached, what="relabelled", accept=lambda names: names == {"mine"})
        group.cancel_scope.cancel()
