"""Kubernetes Events about what a reconciler did, recorded without slowing it down.

``kubectl describe webapp x`` shows Events; they are how an operator explains itself
("Created Deployment web", "Scaled to 3"). Recording must never fail or stall a
reconcile, so :meth:`EventRecorder.event` only puts the event in a bounded buffer and
returns; a background runnable writes it (dropping, counted in
``kubeweft_events_dropped_total`` and logged at most every ``DROP_LOG_INTERVAL``
seconds, when the buffer is full or the API server refuses). Repeats of the same event
on the same object (same type, reason and message) are aggregated as client-go's
correlator does: the existing Event's ``count`` and ``lastTimestamp`` are patched
instead of creating a new object.

Each write is an API round trip, so one writer tops out at a few hundred Events a
second — less than a burst of a thousand new objects produces. The buffer is therefore
split into ``workers`` shards by object UID, each drained by its own writer: Events of
one object stay in order and are aggregated by one writer, different objects are
written in parallel.

A recorder writes only while it runs. Obtain it from the manager
(``manager.event_recorder(component)``), which runs it before the controllers that use
it; a recorder that is not running still buffers, but the first event it gets logs a
warning naming the component, so a recorder nobody started is not silent.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import anyio.abc
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event

from kubeweft.runtime import errors, metrics, objects
from kubeweft.runtime.client import Client

__all__ = ["EventRecorder", "EventType"]

log = logging.getLogger(__name__)

EventType = Literal["Normal", "Warning"]

#: Seconds between two log lines about dropped events (each drop is still counted).
DROP_LOG_INTERVAL = 10.0


@dataclass(frozen=True)
class _Pending:
    reference: ObjectReference
    type: EventType
    reason: str
    message: str
    at: datetime


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_at: float


class EventRecorder:
    """``record.EventRecorder`` for one component; a runnable that writes the Events."""

    def __init__(
        self,
        client: Client,
        component: str,
        *,
        buffer_size: int = 1000,
        workers: int = 4,
        aggregation_window: float = 600.0,
        max_tracked: int = 4096,
    ) -> None:
        self.client = client
        self.component = component
        self.host = socket.gethostname()
        self.instance = f"{component}-{self.host}"
        shard_size = max(1, buffer_size // workers)
        self._shards = [
            anyio.create_memory_object_stream[_Pending](shard_size) for _ in range(workers)
        ]
        self._window = aggregation_window
        self._max_tracked = max_tracked
        self._seen: OrderedDict[tuple[str, ...], _Seen] = OrderedDict()
        self.dropped = 0
        self._unlogged_drops = 0
        self._last_drop_log = float("-inf")
        self._enqueued = 0
        self._processed = 0
        self._progress = anyio.Event()
        self._running = False
        self._warned_not_running = False

    def event(self, obj: Any, type: EventType, reason: str, message: str) -> None:
        """Record an Event on ``obj``; never raises, never blocks."""
        try:
            info = objects.kind_info(obj.__class__)
            meta = obj.metadata
            reference = ObjectReference(
                apiVersion=info.api_version,
                kind=info.kind,
                name=meta.name,
                namespace=meta.namespace,
                uid=meta.uid,
                resourceVersion=meta.resourceVersion,
            )
            pending = _Pending(reference, type, reason, message[:1024], datetime.now(UTC))
            send, _ = self._shards[hash(meta.uid) % len(self._shards)]
            send.send_nowait(pending)
            self._enqueued += 1
            if not self._running:
                self._warn_not_running(reason)
        except anyio.WouldBlock:
            self._drop(reason, message)
        except Exception:
            self.dropped += 1
            metrics.EVENTS_DROPPED.inc()
            log.exception("could not record event %s", reason)

    def _warn_not_running(self, reason: str) -> None:
        if self._warned_not_running:
            return
        self._warned_not_running = True
        log.warning(
            "event recorder %r is not running: event %s is buffered and written only once "
            "it runs; obtain recorders with Manager.event_recorder() (or add this one to "
            "the manager)",
            self.component,
            reason,
        )

    def _drop(self, reason: str, message: str) -> None:
        """Count a dropped event; log the drops at most every ``DROP_LOG_INTERVAL`` s."""
        self.dropped += 1
        self._unlogged_drops += 1
        metrics.EVENTS_DROPPED.inc()
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            log.warning(
                "event buffer full: dropped %d event(s) since the last report (latest: %s %s)",
                self._unlogged_drops,
                reason,
                message,
            )
            self._unlogged_drops = 0
            self._last_drop_log = now

    def eventf(self, obj: Any, type: EventType, reason: str, fmt: str, *args: object) -> None:
        self.event(obj, type, reason, fmt % args if args else fmt)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with anyio.create_task_group() as group:
                for _, receive in self._shards:
                    group.start_soon(self._drain, receive)
                self._running = True
                task_status.started()
        finally:
            self._running = False

    async def _drain(self, receive: anyio.abc.ObjectReceiveStream[_Pending]) -> None:
        async for pending in receive:
            try:
                await self._write(pending)
            except errors.ApiError as error:
                log.warning("writing event %s failed: %s", pending.reason, error)
            except Exception:
                log.exception("writing event %s failed", pending.reason)
            self._processed += 1
            progress, self._progress = self._progress, anyio.Event()
            progress.set()

    async def flush(self) -> None:
        """Wait until every buffered event has been written (tests, shutdown)."""
        while self._processed < self._enqueued:
            await self._progress.wait()

    async def _write(self, pending: _Pending) -> None:
        ref = pending.reference
        namespace = ref.namespace or "default"
        key = (str(ref.uid), pending.type, pending.reason, pending.message)
        seen = self._seen.get(key)
        timestamp = pending.at.replace(microsecond=0)
        if seen is not None and anyio.current_time() - seen.first_at < self._window:
            try:
                await self.client.patch(
                    Event,
                    seen.name,
                    {"count": seen.count + 1, "lastTimestamp": _rfc3339(timestamp)},
                    namespace=seen.namespace,
                )
                seen.count += 1
                self._seen.move_to_end(key)
                return
            except errors.NotFound:
                pass  # expired (Events live about an hour): record a fresh one
        event = Event(
            metadata=ObjectMeta(name=f"{ref.name}.{uuid.uuid4().hex[:16]}", namespace=namespace),
            involvedObject=ref,
            type=pending.type,
            reason=pending.reason,
            message=pending.message,
            count=1,
            firstTimestamp=timestamp,
            lastTimestamp=timestamp,
            source=EventSource(component=self.component, host=self.host),
            reportingComponent=self.component,
            reportingInstance=self.instance,
        )
        created = await self.client.create(event)
        name = created.metadata.name if created.metadata else None
        self._seen[key] = _Seen(name or "", namespace, 1, anyio.current_time())
        self._seen.move_to_end(key)
        while len(self._seen) > self._max_tracked:
            self._seen.popitem(last=False)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
