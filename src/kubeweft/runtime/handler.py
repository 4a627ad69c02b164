"""From an object's event to the keys to reconcile: controller-runtime's ``handler``.

A handler decides *which* object needs reconciling when something changed. For the
model itself that is the object (``EnqueueRequestForObject``). For what the model
owns — its Deployment, its Service — it is the owner named by the controller
``ownerReference`` (``EnqueueRequestForOwner``), which is how a hand edit of an owned
object wakes the owner's reconciler to revert it. Handlers only add keys to the queue;
they run synchronously inside the informer's dispatch and must not block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from kubeweft.runtime.objects import kind_info
from kubeweft.runtime.reconcile import Request

__all__ = [
    "EnqueueRequestForObject",
    "EnqueueRequestForOwner",
    "EnqueueRequestsFromMapFunc",
    "EventHandler",
    "RequestQueue",
    "request_for",
]


class RequestQueue(Protocol):
    """What a handler needs of the work queue."""

    def add(self, key: Request, *, low_priority: bool = False) -> None: ...


class EventHandler(Protocol):
    def create(self, obj: Any, queue: RequestQueue, *, is_initial_list: bool = False) -> None: ...

    def update(self, old: Any, new: Any, queue: RequestQueue) -> None: ...

    def delete(self, obj: Any, queue: RequestQueue) -> None: ...

    def generic(self, obj: Any, queue: RequestQueue) -> None: ...


def request_for(obj: Any) -> Request:
    """The ``Request`` naming ``obj`` itself."""
    meta = obj.metadata
    return Request(meta.namespace or "", meta.name)


class _MappingHandler:
    """A handler defined by one function: object -> the requests it concerns."""

    map_old_on_update = True

    def requests(self, obj: Any) -> Iterable[Request]:
        raise NotImplementedError

    def create(self, obj: Any, queue: RequestQueue, *, is_initial_list: bool = False) -> None:
        for request in self.requests(obj):
            queue.add(request, low_priority=is_initial_list)

    def update(self, old: Any, new: Any, queue: RequestQueue) -> None:
        # An owner reference can change between old and new: both owners must hear.
        keys = dict.fromkeys(self.requests(new))
        if self.map_old_on_update:
            keys.update(dict.fromkeys(self.requests(old)))
        for request in keys:
            queue.add(request)

    def delete(self, obj: Any, queue: RequestQueue) -> None:
        for request in self.requests(obj):
            queue.add(request)

    def generic(self, obj: Any, queue: RequestQueue) -> None:
        for request in self.requests(obj):
            queue.add(request)


class EnqueueRequestForObject(_MappingHandler):
    """Enqueue the object's own key (the ``For`` kind of a controller)."""

    map_old_on_update = False  # name and namespace cannot change

    def requests(self, obj: Any) -> Iterable[Request]:
        return (request_for(obj),)


class EnqueueRequestForOwner(_MappingHandler):
    """Enqueue the owner of kind ``owner_kind`` named in the object's ownerReferences.

    With ``only_controller`` (the default) only the reference with ``controller: true``
    counts, as with controller-runtime's ``OnlyControllerOwner()``. A reference matches
    when its apiVersion's *group* and its kind equal the owner kind's; the version may
    differ, since one object served at two versions is still one owner.
    """

    def __init__(self, owner_kind: type[Any], *, only_controller: bool = True) -> None:
        kind: Any = owner_kind  # kind_info is functools.cache'd: mypy wants Hashable
        info = kind_info(kind)
        self.group = info.group
        self.kind = info.kind
        self.namespaced = info.namespaced
        self.only_controller = only_controller

    def requests(self, obj: Any) -> Iterable[Request]:
        meta = obj.metadata
        found: list[Request] = []
        for ref in meta.ownerReferences or ():
            if self.only_controller and not ref.controller:
                continue
            group = ref.apiVersion.rpartition("/")[0]
            if ref.kind != self.kind or group != self.group:
                continue
            namespace = (meta.namespace or "") if self.namespaced else ""
            found.append(Request(namespace, ref.name))
        return found


class EnqueueRequestsFromMapFunc(_MappingHandler):
    """Enqueue whatever ``fn(obj)`` returns (e.g. every object that mounts a Secret)."""

    def __init__(self, fn: Callable[[Any], Iterable[Request]]) -> None:
        self.fn = fn

    def requests(self, obj: Any) -> Iterable[Request]:
        return self.fn(obj)
