"""Memory of the live-update replay buffer: changes kept as objects or as encoded bytes.

Run: ``.venv/bin/python bench/stream_replay_memory.py [--objects 1000] [--changes 4096]``

A watch cache (``views.watchcache``, the default 4,096 changes) is fed ``--changes``
modifications of ``--objects`` WebApps, each a new object version as the informer
delivers it, with no stream open. The informer keeps only each object's newest version;
whatever else stays alive is held by the replay buffer. Printed: the memory Python
allocated (tracemalloc) and still holds after the informer has let the old versions go,
once with the buffer keeping objects (``encode`` unset: the buffer before streams shared
encoded parts) and once with it keeping each change's encoded part, as the stream routes
set it up (``ModelRoutes.object_parts.list_head``; that cache of parts is counted too).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from datetime import UTC, datetime
from typing import Any

from kubeweft.api import ObjectMeta
from kubeweft.api.meta import Condition
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.examples.webapp.api.v1.webapp_types import WebAppStatus
from kubeweft.rest.routes.model import ModelRoutes
from kubeweft.views.watchcache import WatchCache

T = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)


def webapp(i: int, version: int) -> WebApp:
    return WebApp(
        metadata=ObjectMeta(
            name=f"app-{i:04d}",
            namespace="bench",
            uid=f"6c4c5a5e-1111-4222-8333-{i:012d}",
            resourceVersion=str(version),
            generation=3,
            creationTimestamp=T,
            labels={"tier": "web", "sent": str(version)},
        ),
        spec=WebAppSpec(image="nginx:1.27", replicas=3),
        status=WebAppStatus(
            replicas=3,
            ready_replicas=3,
            conditions=[
                Condition(type="Ready", status="True", last_transition_time=T, reason="Ready")
            ],
        ),
    )


class Informer:
    """Keeps the newest version of each object, as the shared informer's store does."""

    resource_version = "1"

    def __init__(self) -> None:
        self.store: dict[str, Any] = {}
        self.handler: Any = None

    def add_event_handler(self, handler: Any) -> None:
        self.handler = handler


def held_mib(objects: int, changes: int, *, encoded: bool) -> float:
    informer = Informer()
    cache = WatchCache(informer, capacity=4096)  # type: ignore[arg-type]
    if encoded:
        cache.encode = ModelRoutes.of(WebApp).object_parts.list_head
    for i in range(objects):
        informer.store[str(i)] = webapp(i, 2 + i)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    version = 2 + objects
    for n in range(changes):
        i = n % objects
        new = webapp(i, version)
        old, informer.store[str(i)] = informer.store[str(i)], new
        cache.on_update(old, new)
        informer.resource_version = str(version)
        version += 1
    del old, new
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert cache.buffered == min(changes, 4096)
    return held / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=4096)
    args = parser.parse_args()
    as_objects = held_mib(args.objects, args.changes, encoded=False)
    as_bytes = held_mib(args.objects, args.changes, encoded=True)
    print(f"{args.changes} changes of {args.objects} WebApps, no stream open:")
    print(f"  replay buffer keeping objects        {as_objects:6.1f} MiB held")
    print(f"  replay buffer keeping encoded parts  {as_bytes:6.1f} MiB held")
    print(f"  ratio: {as_objects / as_bytes:.1f}x")


if __name__ == "__main__":
    main()
