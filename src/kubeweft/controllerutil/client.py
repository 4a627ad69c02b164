"""What the helpers need of a client, and controller-runtime's split client.

A reconciler reads from the manager's cache and writes to the API server
(``runtime.cache.Cache`` and ``runtime.client.Client``). The helpers take one object
that does both; :class:`DelegatingClient` joins the two, as controller-runtime's
default client does.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """

    def __init__(self, reader: Reader, writer: Writer) -> None:
        self.reader = reader
        self.writer = writer
        self.api_reader: Reader | None = cast(Reader, writer) if hasattr(writer, "get") else None

    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K:
        return await self.reader.get(kind, name, namespace)

    async def create(self, obj: K) -> K:
        return await self.writer.create(obj)

    async def update(self, obj: K) -> K:
        return await self.writer.update(obj)

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
        return await self.writer.patch(
            kind,
            name,
            patch,
            namespace=namespace,
            subresource=subresource,
            field_manager=field_manager,
        )
