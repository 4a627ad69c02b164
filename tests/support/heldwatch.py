"""A client whose watches hold the API server's events past a resourceVersion until the
test lets them through: a watch delivery made as slow as a test needs, to show what a
process reads of its own writes before its informers hear of them."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio

from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.informer import InformerOptions

__all__ = ["HeldWatch", "held_cache"]


class HeldWatch:
    """``client`` whose watches hold every event newer than ``hold(through=...)``
    until ``release()`` (a bookmark past it is dropped: bookmarks are optional)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.through: int | None = None  # None: nothing is held
        self._changed = anyio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def hold(self, *, through: int) -> None:
        self.through = through
        self._notify()

    def release(self) -> None:
        self.through = None
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def watch(self, *args: Any, **kwargs: Any) -> Any:
        async with aclosing(self.client.watch(*args, **kwargs)) as events:
            async for event in events:
                version = int(event.resource_version)
                if event.type == "BOOKMARK":
                    if self.through is None or version <= self.through:
                        yield event
                    continue
                while self.through is not None and version > self.through:
                    await self._changed.wait()
                yield event


def held_cache(client: Client, namespace: str) -> tuple[HeldWatch, Cache]:
    """A cache of ``namespace`` whose informers watch through a :class:`HeldWatch`."""
    held = HeldWatch(client)
    return held, Cache(held, CacheOptions(defaults=InformerOptions(namespace=namespace)))  # type: ignore[arg-type]
