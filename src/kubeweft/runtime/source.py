"""Where a controller's events come from: controller-runtime's ``source``.

``Kind`` connects a kind's shared informer (from the cache) to a controller's queue
through a handler and predicates: the informer calls it synchronously for each event,
it filters with the predicates and the handler adds keys — nothing blocks the
informer. ``Channel`` turns objects sent on a memory stream (from a webhook, a timer, an
external system) into generic events. A controller starts its sources, then waits until
each reports synced before starting workers, so a reconciler never reads an empty cache.
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream

from kubeweft.runtime.handler import EnqueueRequestForObject, EventHandler, RequestQueue
from kubeweft.runtime.objects import kind_info
from kubeweft.runtime.predicate import Predicate, passes

__all__ = ["Channel", "Kind", "Source"]


class Source(Protocol):
    async def start(self, queue: RequestQueue, task_group: TaskGroup) -> None:
        """Begin delivering keys to ``queue``; background work goes in ``task_group``."""
        ...

    async def wait_for_sync(self) -> None:
        """Return once the source has delivered its initial state."""
        ...


class _InformerCallbacks:
    """The ``ResourceEventHandler`` registered on an informer for one controller."""

    def __init__(
        self, handler: EventHandler, predicates: tuple[Predicate, ...], queue: RequestQueue
    ) -> None:
        self._handler = handler
        self._predicates = predicates
        self._queue = queue

    def on_add(self, obj: Any, is_initial_list: bool = False) -> None:
        if passes(self._predicates, "create", obj):
            self._handler.create(obj, self._queue, is_initial_list=is_initial_list)

    def on_update(self, old: Any, new: Any) -> None:
        if passes(self._predicates, "update", old, new):
            self._handler.update(old, new, self._queue)

    def on_delete(self, obj: Any) -> None:
        if passes(self._predicates, "delete", obj):
            self._handler.delete(obj, self._queue)


class Kind:
    """Events of ``kind`` from ``cache``'s shared informer, through predicates, to a handler."""

    def __init__(
        self,
        cache: Any,
        kind: type[Any],
        handler: EventHandler | None = None,
        *predicates: Predicate,
        owned: bool = False,
    ) -> None:
        self.cache = cache
        self.kind = kind
        self.handler: EventHandler = handler or EnqueueRequestForObject()
        self.predicates = predicates
        #: Only objects a controller owns are needed (``Cache.informer_for(owned=True)``).
        self.owned = owned
        self._informer: Any = None

    async def start(self, queue: RequestQueue, task_group: TaskGroup) -> None:
        if self._informer is not None:
            raise RuntimeError(f"source {self} was already started")
        if self.owned:
            informer = self.cache.informer_for(self.kind, owned=True)
        else:
            informer = self.cache.informer_for(self.kind)
        if inspect.isawaitable(informer):
            informer = await informer
        # A reconcile looks the object up again: it may hear of this process's own
        # writes before the watch shows them (SharedInformer.mutation).
        callbacks = _InformerCallbacks(self.handler, self.predicates, queue)
        informer.add_event_handler(callbacks, own_writes=True)
        self._informer = informer

    async def wait_for_sync(self) -> None:
        if self._informer is None:
            raise RuntimeError(f"source {self} must be started before waiting for sync")
        wait = getattr(self._informer, "wait_for_sync", None)
        await (wait() if wait is not None else self.cache.wait_for_sync())

    def __repr__(self) -> str:
        kind: Any = self.kind
        return f"Kind({kind_info(kind)})"


class Channel:
    """Generic events: each object received from ``stream`` goes to ``handler.generic``."""

    def __init__(
        self,
        stream: MemoryObjectReceiveStream[Any],
        handler: EventHandler | None = None,
        *predicates: Predicate,
    ) -> None:
        self.stream = stream
        self.handler: EventHandler = handler or EnqueueRequestForObject()
        self.predicates = predicates

    async def start(self, queue: RequestQueue, task_group: TaskGroup) -> None:
        task_group.start_soon(self._pump, queue, name=repr(self))

    async def _pump(self, queue: RequestQueue) -> None:
        async with self.stream:
            async for obj in self.stream:
                if passes(self.predicates, "generic", obj):
                    self.handler.generic(obj, queue)

    async def wait_for_sync(self) -> None:
        """A channel has no initial state to wait for."""

    def __repr__(self) -> str:
        return "Channel()"
