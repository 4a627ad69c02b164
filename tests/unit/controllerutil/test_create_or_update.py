"""create_or_update against the in-memory client: results, writes and refusals."""

from __future__ import annotations

import pytest
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.controllerutil import (
    MANAGED_BY_LABEL,
    DelegatingClient,
    NotOwnedError,
    OperationResult,
    create_or_update,
)
from kubeweft.examples.webapp.api.v1 import WebApp
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def cluster() -> FakeClient:
    return FakeClient()


@pytest.fixture
def owner() -> WebApp:
    return WebApp.model_validate(
        {
            "metadata": {"name": "shop", "namespace": "default", "uid": "wa-uid"},
            "spec": {"image": "x"},
        }
    )


def wanted(greeting: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="shop", namespace="default"), data={"g": greeting})


async def arrange(cluster: FakeClient, obj: ConfigMap) -> None:
    """Someone else created ``obj``: not one of the writes under test."""
    await cluster.create(obj)
    cluster.writes.clear()


def setting(greeting: str):  # type: ignore[no-untyped-def]
    def mutate(cm: ConfigMap) -> None:
        cm.data = {**(cm.data or {}), "g": greeting}

    return mutate


def skeleton() -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name="shop", namespace="default"))


async def test_created_then_unchanged_then_updated(cluster: FakeClient, owner: WebApp) -> None:
    cm = skeleton()
    assert (
        await create_or_update(cluster, cm, setting("hi"), owner=owner) == OperationResult.CREATED
    )
    stored = cluster.raw("ConfigMap", "shop")
    assert stored["data"] == {"g": "hi"}
    assert stored["metadata"]["labels"] == {MANAGED_BY_LABEL: "kubeweft"}
    (ref,) = stored["metadata"]["ownerReferences"]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("WebApp", "wa-uid", True)
    assert cm.metadata.resourceVersion == stored["metadata"]["resourceVersion"]  # obj updated

    again = skeleton()
    assert await create_or_update(cluster, again, setting("hi"), owner=owner) == (
        OperationResult.UNCHANGED
    )
    assert again.data == {"g": "hi"}  # the live state
    assert len(cluster.writes) == 1

    assert await create_or_update(cluster, skeleton(), setting("ho"), owner=owner) == (
        OperationResult.UPDATED
    )
    assert cluster.raw("ConfigMap", "shop")["data"] == {"g": "ho"}
    assert [w[0] for w in cluster.writes] == ["create", "update"]


async def test_fields_set_by_others_are_kept(cluster: FakeClient, owner: WebApp) -> None:
    await create_or_update(cluster, skeleton(), setting("hi"), owner=owner)
    cluster.edit("ConfigMap", "shop", lambda d: d["data"].update(theirs="kept"))
    assert await create_or_update(cluster, skeleton(), setting("ho"), owner=owner) == (
        OperationResult.UPDATED
    )
    assert cluster.raw("ConfigMap", "shop")["data"] == {"g": "ho", "theirs": "kept"}


async def test_unlabelled_object_without_owner_is_refused_untouched(
    cluster: FakeClient, owner: WebApp
) -> None:
    await arrange(cluster, wanted("theirs"))
    before = dict(cluster.raw("ConfigMap", "shop"))
    calls: list[ConfigMap] = []
    with pytest.raises(NotOwnedError) as caught:
        await create_or_update(cluster, skeleton(), calls.append, owner=owner)
    assert caught.value.owner is None
    assert calls == []  # mutate never ran
    assert cluster.raw("ConfigMap", "shop") == before
    assert cluster.writes == []


async def test_object_controlled_by_another_owner_is_refused(
    cluster: FakeClient, owner: WebApp
) -> None:
    theirs = wanted("theirs")
    theirs.metadata.labels = {MANAGED_BY_LABEL: "kubeweft"}
    theirs.metadata.ownerReferences = [
        OwnerReference(
            apiVersion="kubeweft.dev/v1",
            kind="WebApp",
            name="old",
            uid="old-uid",
            controller=True,
        )
    ]
    await arrange(cluster, theirs)
    with pytest.raises(NotOwnedError) as caught:
        await create_or_update(cluster, skeleton(), setting("mine"), owner=owner)
    assert caught.value.owner.uid == "old-uid"
    assert "controlled by WebApp old (uid old-uid)" in str(caught.value)
    assert cluster.writes == []


async def test_orphan_carrying_our_label_is_adopted(cluster: FakeClient, owner: WebApp) -> None:
    orphan = wanted("hi")
    orphan.metadata.labels = {MANAGED_BY_LABEL: "kubeweft"}
    await arrange(cluster, orphan)
    assert await create_or_update(cluster, skeleton(), setting("hi"), owner=owner) == (
        OperationResult.UPDATED
    )
    (ref,) = cluster.raw("ConfigMap", "shop")["metadata"]["ownerReferences"]
    assert ref["uid"] == "wa-uid"


async def test_renaming_in_mutate_is_refused(cluster: FakeClient, owner: WebApp) -> None:
    def rename(cm: ConfigMap) -> None:
        cm.metadata.name = "other"

    with pytest.raises(ValueError, match="name or namespace"):
        await create_or_update(cluster, skeleton(), rename, owner=owner)
    assert cluster.writes == []


async def test_reads_through_the_reader_of_a_delegating_client(owner: WebApp) -> None:
    reader, writer = FakeClient(), FakeClient()
    await arrange(reader, wanted("theirs"))  # only the reader (the cache) holds it
    with pytest.raises(NotOwnedError):
        await create_or_update(
            DelegatingClient(reader, writer), skeleton(), setting("x"), owner=owner
        )
    assert writer.writes == []


async def test_custom_resources_are_owned_objects_too(cluster: FakeClient, owner: WebApp) -> None:
    def scale(app: WebApp) -> None:
        app.spec.replicas = 4

    child = WebApp.model_validate(
        {"metadata": {"name": "child", "namespace": "default"}, "spec": {"image": "x"}}
    )
    assert await create_or_update(cluster, child, scale, owner=owner) == OperationResult.CREATED
    assert child.metadata.uid is not None  # the server's answer, assigned in place
    assert await create_or_update(cluster, child, scale, owner=owner) == (OperationResult.UNCHANGED)
    stored = cluster.raw("WebApp", "child")
    assert stored["spec"]["replicas"] == 4
    assert stored["metadata"]["ownerReferences"][0]["uid"] == "wa-uid"
    assert len(cluster.writes) == 1
