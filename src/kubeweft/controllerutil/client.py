"""What the helpers need of a client, and controller-runtime's split client.

A reconciler reads from the manager's cache and writes to the API server
(``runtime.cache.Cache`` and ``runtime.client.Client``). The helpers take one object
that does both; :class:`DelegatingClient` joins the two, as controller-runtime's
default client does — and hands the cache the API server's answer to each write
(``Cache.mutation``), so the next reconcile reads what this one wrote even before the
watch shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from kubeweft.runtime.objects import K

__all__ = ["Client", "DelegatingClient", "Reader", "Writer"]


class Reader(Protocol):
    """Reads (``runtime.cache.Cache`` or ``runtime.client.Client``)."""

    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K: ...


class Writer(Protocol):
    """Writes to the API server (``runtime.client.Client``)."""

    async def create(self, obj: K) -> K: ...

    async def update(self, obj: K) -> K: ...

    async def patch(
        self,
        kind: type[K],
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> K: ...


class Client(Reader, Writer, Protocol):
    """Reads and writes."""


class DelegatingClient:
    """Reads from ``reader`` (the cache), writes through ``writer`` (the API server).

    ``api_reader`` reads past the cache (controller-runtime's ``GetAPIReader``): the
    writer when it can read, as ``runtime.client.Client`` can; None otherwise.

    When the reader is the manager's cache, every write's answer goes to its
    ``mutation``: a read returns it until the watch delivers that version. Without it a
    reconcile that follows its own status patch by less than a watch delivery computes
    the status again from the old one, finds nothing to change and writes nothing — and
    the status stays as the first patch left it until something else wakes the object.
    The controllers watching the kind hear of the write as of the watch event it saves
    (their predicates decide: a status patch passes no ``GenerationChanged``).
    """

    def __init__(self, reader: Reader, writer: Writer) -> None:
        self.reader = reader
        self.writer = writer
        self.api_reader: Reader | None = cast(Reader, writer) if hasattr(writer, "get") else None
        self._wrote: Callable[[Any], object] | None = getattr(reader, "mutation", None)

    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K:
        return await self.reader.get(kind, name, namespace)

    async def create(self, obj: K) -> K:
        return self._written(await self.writer.create(obj))

    async def update(self, obj: K) -> K:
        return self._written(await self.writer.update(obj))

    async def patch(
        self,
        kind: type[K],
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> K:
        written = await self.writer.patch(
            kind,
            name,
            patch,
            namespace=namespace,
            subresource=subresource,
            field_manager=field_manager,
        )
        return self._written(written)

    def _written(self, obj: K) -> K:
        if self._wrote is not None:
            self._wrote(obj)
        return obj
