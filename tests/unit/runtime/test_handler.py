"""Handlers: object events to keys, owned objects to their owner's key."""

from __future__ import annotations

from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.core_v1 import ConfigMap, Namespace

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.handler import (
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
)
from kubeweft.runtime.reconcile import Request


class RecordingQueue:
    def __init__(self) -> None:
        self.added: list[tuple[Request, bool]] = []

    def add(self, key: Request, *, low_priority: bool = False) -> None:
        self.added.append((key, low_priority))


def ref(api_version: str, kind: str, name: str, controller: bool | None = True) -> OwnerReference:
    return OwnerReference(
        apiVersion=api_version, kind=kind, name=name, uid=f"uid-{name}", controller=controller
    )


def deployment(*refs: OwnerReference, namespace: str = "ns") -> ConfigMap:
    # Any namespaced kind does: what matters is the owner reference.
    return ConfigMap(
        metadata=ObjectMeta(name="web", namespace=namespace, ownerReferences=list(refs))
    )


def test_object_handler_enqueues_own_key_with_initial_list_low_priority() -> None:
    queue = RecordingQueue()
    handler = EnqueueRequestForObject()
    cm = ConfigMap(metadata=ObjectMeta(name="a", namespace="ns"))
    handler.create(cm, queue, is_initial_list=True)
    handler.create(cm, queue)
    handler.update(cm, cm, queue)
    handler.delete(cm, queue)
    assert queue.added == [(Request("ns", "a"), True)] + [(Request("ns", "a"), False)] * 3


def test_cluster_scoped_objects_have_empty_namespace() -> None:
    queue = RecordingQueue()
    EnqueueRequestForObject().create(Namespace(metadata=ObjectMeta(name="team")), queue)
    assert queue.added == [(Request("", "team"), False)]


def test_owner_handler_maps_controller_reference_of_matching_group_and_kind() -> None:
    queue = RecordingQueue()
    handler = EnqueueRequestForOwner(WebApp)
    owned = deployment(
        ref("kubeweft.dev/v1", "WebApp", "shop"),
        ref("kubeweft.dev/v1", "WebApp", "not-controller", controller=False),
        ref("other.example/v1alpha1", "WebApp", "other-group"),
        ref("kubeweft.dev/v1", "Database", "other-kind"),
    )
    handler.create(owned, queue)
    assert queue.added == [(Request("ns", "shop"), False)]


def test_owner_handler_matches_any_version_of_the_group() -> None:
    queue = RecordingQueue()
    EnqueueRequestForOwner(WebApp).delete(deployment(ref("kubeweft.dev/v2", "WebApp", "x")), queue)
    assert queue.added == [(Request("ns", "x"), False)]


def test_owner_handler_all_owners_when_not_only_controller() -> None:
    queue = RecordingQueue()
    handler = EnqueueRequestForOwner(WebApp, only_controller=False)
    handler.create(
        deployment(
            ref("kubeweft.dev/v1", "WebApp", "a"),
            ref("kubeweft.dev/v1", "WebApp", "b", controller=None),
        ),
        queue,
    )
    assert [key for key, _ in queue.added] == [Request("ns", "a"), Request("ns", "b")]


def test_owner_handler_update_notifies_old_and_new_owner() -> None:
    queue = RecordingQueue()
    old = deployment(ref("kubeweft.dev/v1", "WebApp", "before"))
    new = deployment(ref("kubeweft.dev/v1", "WebApp", "after"))
    EnqueueRequestForOwner(WebApp).update(old, new, queue)
    assert {key.name for key, _ in queue.added} == {"before", "after"}


def test_owner_handler_ignores_unowned_objects() -> None:
    queue = RecordingQueue()
    EnqueueRequestForOwner(WebApp).create(deployment(), queue)
    assert queue.added == []


def test_map_func_handler_enqueues_what_the_function_returns() -> None:
    queue = RecordingQueue()
    handler = EnqueueRequestsFromMapFunc(
        lambda obj: [Request("ns", f"{obj.metadata.name}-1"), Request("ns", "shared")]
    )
    handler.generic(ConfigMap(metadata=ObjectMeta(name="cm", namespace="ns")), queue)
    assert [key.name for key, _ in queue.added] == ["cm-1", "shared"]
