"""The cache: shared informers per kind behind a read-only client-like API.

Reconcilers read from here and write to the API server (controller-runtime's split
client). Reading from memory is what lets a controller re-examine every object on every
event without hammering the API server; the price is staleness right after a write,
which ``wait_for_resource_version`` bounds for the REST layer's read-your-writes.
Informers are created lazily, the first time a kind is asked for; a cache that is
already running starts the new informer at once in its own task group.

A kind that controllers only *own* (``informer_for(kind, owned=True)``) can be cached
through ``CacheOptions.owned_label_selector`` — the managed-by label every child
``controllerutil.create_or_update`` writes carries — so the Deployments of other
applications in the cluster cost neither memory nor events. The first unscoped
request for the kind (it is also some controller's ``For``, say) widens the informer
back to the whole kind, as long as the cache has not started it yet; reads
(``get``, ``list``) see what the informer holds. An owned-only informer keeps its
objects as JSON bytes (``InformerOptions.keep_encoded``): only reconcilers and the
detail view's children read them, a decode is cheaper than the deep copy a read makes
anyway, and the bytes take a third of the memory or less.

``mutation(obj)`` is client-go's ``MutationCache`` (``runtime.mutationcache``): the
REST layer hands it each object the API server answered to its writes, ``get``
returns that object until the watch shows it, and this process's controllers of the
kind are told at once instead of one watch delivery later.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import anyio.abc

from kubeweft.runtime import errors, objects
from kubeweft.runtime.client import Client, Selector
from kubeweft.runtime.index import IndexFunc
from kubeweft.runtime.informer import InformerOptions, SharedInformer
from kubeweft.runtime.objects import K

__all__ = ["Cache", "CacheOptions", "CacheSyncTimeout"]


class CacheSyncTimeout(Exception):
    """Informers did not complete their initial list within ``sync_timeout``."""


@dataclass(frozen=True)
class CacheOptions:
    """Defaults for every informer, plus per-kind overrides (``by_kind``)."""

    defaults: InformerOptions = field(default_factory=InformerOptions)
    by_kind: dict[type[Any], InformerOptions] = field(default_factory=dict)
    # controller-runtime's CacheSyncTimeout.
    sync_timeout: float = 120.0
    # Return the cached objects themselves from get/list (faster; callers must not mutate).
    unsafe_disable_deep_copy: bool = False
    #: Label selector for kinds that are only owned (None: cache all of them).
    owned_label_selector: Selector | None = None


class Cache:
    """Shared informers, one per kind; a runnable."""

    def __init__(self, client: Client, options: CacheOptions | None = None) -> None:
        self.client = client
        self.options = options or CacheOptions()
        self._informers: dict[type[Any], SharedInformer[Any]] = {}
        #: Kinds whose informer is scoped to ``owned_label_selector``.
        self._owned_only: set[type[Any]] = set()
        self._group: anyio.abc.TaskGroup | None = None

    def informer_for(self, kind: type[K], *, owned: bool = False) -> SharedInformer[K]:
        """The shared informer of ``kind``, created (and started if running) on first use.

        ``owned``: the caller only needs the objects a controller owns, so the informer
        may be scoped to ``owned_label_selector`` (unless ``by_kind`` configures it).
        """
        informer = self._informers.get(kind)
        if informer is not None and not owned and kind in self._owned_only:
            if self._group is not None:
                raise ValueError(
                    f"the cache of {objects.kind_info(kind)} holds only owned objects and "
                    "is running: ask for the whole kind before the cache starts"
                )
            self._owned_only.discard(kind)
            informer = None  # not started yet: replaced by one of the whole kind
        if informer is None:
            opts = self.options.by_kind.get(kind, self.options.defaults)
            selector = self.options.owned_label_selector
            if owned and selector is not None and kind not in self.options.by_kind:
                opts = replace(opts, label_selector=selector, keep_encoded=True)
                self._owned_only.add(kind)
            informer = self._informers[kind] = SharedInformer(self.client, kind, opts)
            if self._group is not None:
                self._group.start_soon(self._run_informer, informer)
        return informer

    def _existing_or_new(self, kind: type[K]) -> SharedInformer[K]:
        """The informer as it is (of an owned kind: the owned objects), or a new one."""
        informer = self._informers.get(kind)
        return informer if informer is not None else self.informer_for(kind)

    def add_index(self, kind: type[Any], name: str, func: IndexFunc) -> None:
        """controller-runtime's ``IndexField``: index ``kind``'s objects by ``func``."""
        self._existing_or_new(kind).add_index(name, func)

    def with_namespace(self, namespace: str) -> CacheOptions:
        """Options scoping every informer of this cache to one namespace."""
        return replace(self.options, defaults=replace(self.options.defaults, namespace=namespace))

    # --- reads ----------------------------------------------------------------------
    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K:
        """The cached object; raises :class:`errors.NotFound` like the API server would."""
        informer = await self._synced_informer(kind)
        obj = informer.get(namespace if objects.kind_info(kind).namespaced else None, name)
        if obj is None:
            info = objects.kind_info(kind)
            raise errors.NotFound(404, "NotFound", f'{info} "{name}" not found (cache)')
        return obj if self._shares_nothing(informer) else objects.deep_copy(obj)

    async def list(
        self,
        kind: type[K],
        namespace: str | None = None,
        label_selector: Selector | None = None,
    ) -> builtins.list[K]:
        informer = await self._synced_informer(kind)
        items = informer.list(namespace, label_selector)
        if self._shares_nothing(informer):
            return items
        return [objects.deep_copy(obj) for obj in items]

    async def by_index(self, kind: type[K], name: str, value: str) -> builtins.list[K]:
        informer = await self._synced_informer(kind)
        items = informer.by_index(name, value)
        if self._shares_nothing(informer):
            return items
        return [objects.deep_copy(obj) for obj in items]

    def _shares_nothing(self, informer: SharedInformer[Any]) -> bool:
        """Reads of ``informer`` need no deep copy: they are copies already, or the
        options waive it."""
        return informer.returns_copies or self.options.unsafe_disable_deep_copy

    async def wait_for_resource_version(
        self,
        kind: type[Any],
        resource_version: str,
        timeout: float,  # noqa: ASYNC109 - returns False on timeout, by design
    ) -> bool:
        """True once ``kind``'s informer has observed ``resource_version`` (read-your-writes)."""
        informer = self._existing_or_new(kind)
        return await informer.wait_for_resource_version(resource_version, timeout)

    def mutation(self, obj: Any) -> bool:
        """This process wrote ``obj`` (the API server's answer): the informer of its kind,
        if there is one, returns it from ``get`` until its watch catches up, and the
        controllers watching that kind hear of it now (``SharedInformer.mutation``).
        False when nothing was recorded."""
        informer = self._informers.get(type(obj))
        return informer is not None and informer.mutation(obj)

    # --- sync -----------------------------------------------------------------------
    def has_synced(self) -> bool:
        return all(informer.has_synced() for informer in self._informers.values())

    async def wait_for_sync(self) -> None:
        for informer in list(self._informers.values()):
            await informer.wait_for_sync()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run every informer; ``started()`` once all synced (CacheSyncTimeout otherwise)."""
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                for informer in list(self._informers.values()):
                    group.start_soon(self._run_informer, informer)
                try:
                    with anyio.fail_after(self.options.sync_timeout):
                        await self.wait_for_sync()
                except TimeoutError:
                    pending = [
                        str(objects.kind_info(kind))
                        for kind, informer in self._informers.items()
                        if not informer.has_synced()
                    ]
                    raise CacheSyncTimeout(
                        f"caches of {', '.join(pending)} did not sync within "
                        f"{self.options.sync_timeout} s"
                    ) from None
                task_status.started()
                await anyio.sleep_forever()
            finally:
                self._group = None

    async def _run_informer(self, informer: SharedInformer[Any]) -> None:
        await informer.run()

    async def _synced_informer(self, kind: type[K]) -> SharedInformer[K]:
        informer = self._existing_or_new(kind)
        if not informer.has_synced():
            try:
                with anyio.fail_after(self.options.sync_timeout):
                    await informer.wait_for_sync()
            except TimeoutError:
                raise CacheSyncTimeout(
                    f"cache of {objects.kind_info(kind)} did not sync (is the cache running?)"
                ) from None
        return informer
