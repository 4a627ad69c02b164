"""The WebApp reconciler: one WebApp in, a Deployment, a Service and a status out.

Level-triggered, as every reconciler: given only a key it reads the WebApp and the
objects it owns from the cache, computes what they should be, and writes only what
differs — then writes status, only if it changed. The same code path creates,
updates, reverts hand edits (an owned object's event maps back to its owner through
the controller ownerReference) and, every ``requeue_after`` seconds, samples metrics.

Owned objects are written with a plain *update* carrying the resourceVersion read from
the cache, not with server-side apply: the Deployment's annotations are a small state
machine (which generation was applied, from what — see ``webapp_history``), and an
update that fails with 409 on a stale cache is exactly the compare-and-swap that state
needs. The comparison in ``webapp_desired`` runs first, so an unchanged world causes
no write at all. Details: ``docs/design/webapp-controller.md``.

Side effects for the database (history, reconcile log, metric samples) go to a
:class:`RecordSink` whose ``submit`` never blocks; the reconciler never reads them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.api.changes import changed_by
from kubeweft.api.v1alpha1 import WebApp
from kubeweft.controllers import webapp_desired, webapp_history, webapp_status
from kubeweft.db.records import MetricSample, ReconcileRecord, Record
from kubeweft.logging import get_logger
from kubeweft.runtime import errors, objects
from kubeweft.runtime.reconcile import Request, Result

__all__ = [
    "EventSink",
    "NullRecordSink",
    "ObjectReader",
    "ObjectWriter",
    "RecordSink",
    "WebAppReconciler",
    "WebAppReconcilerOptions",
]

_log = get_logger("kubeweft.controllers.webapp")

T = TypeVar("T")
Outcome = Literal["success", "requeue", "error"]
EventType = Literal["Normal", "Warning"]


class ObjectReader(Protocol):
    """Where the reconciler reads: the manager's cache (``runtime.cache.Cache``)."""

    async def get(self, kind: type[T], name: str, namespace: str | None = None) -> T: ...


class ObjectWriter(Protocol):
    """Where the reconciler writes: the API server (``runtime.client.Client``)."""

    async def create(self, obj: T) -> T: ...

    async def update(self, obj: T) -> T: ...

    async def update_status(self, obj: T) -> T: ...


class EventSink(Protocol):
    """Kubernetes Events on the WebApp (``runtime.recorder.EventRecorder``)."""

    def event(self, obj: Any, type: EventType, reason: str, message: str) -> None: ...


class RecordSink(Protocol):
    """The database side effects (``db.writer.RecordWriter``); ``submit`` never blocks."""

    def submit(self, record: Record) -> None: ...


class NullRecordSink:
    """The sink when the database is disabled: records are dropped."""

    def submit(self, record: Record) -> None:
        return None


class _NullEvents:
    def event(self, obj: Any, type: EventType, reason: str, message: str) -> None:
        return None


@dataclass(frozen=True)
class WebAppReconcilerOptions:
    #: Look at every WebApp again after this many seconds (metrics at least this often).
    requeue_after: float = 30.0
    #: Wall-clock time for status timestamps and records (injectable for tests).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Monotonic seconds for durations.
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class _Attempt:
    """What one reconcile did, for the reconcile log and the log line."""

    webapp: WebApp
    started_at: datetime
    started: float
    actions: list[str] = field(default_factory=list)
    #: ``readyReplicas`` as last computed (the cached status until then).
    ready_replicas: int | None = None


class WebAppReconciler:
    """Implements ``runtime.reconcile.Reconciler`` for WebApp."""

    def __init__(
        self,
        reader: ObjectReader,
        writer: ObjectWriter,
        *,
        events: EventSink | None = None,
        records: RecordSink | None = None,
        options: WebAppReconcilerOptions | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.events: EventSink = events or _NullEvents()
        self.records: RecordSink = records or NullRecordSink()
        self.options = options or WebAppReconcilerOptions()

    async def reconcile(self, request: Request) -> Result:
        try:
            webapp = await self.reader.get(WebApp, request.name, request.namespace)
        except errors.NotFound:
            # Deleted: Kubernetes' garbage collector removes what it owned.
            return Result()
        if webapp.metadata.deletionTimestamp is not None:
            return Result()
        attempt = _Attempt(webapp, self.options.now(), self.options.monotonic())
        try:
            result = await self._reconcile(webapp, attempt)
        except (errors.Conflict, errors.AlreadyExists) as err:
            # Our cache was behind the API server; read again after a short backoff.
            # Expected under churn, so a requeue rather than an error (no error storm).
            self._finish(attempt, "requeue", error=str(err))
            return Result(requeue=True)
        except Exception as err:
            self._finish(attempt, "error", error=f"{type(err).__name__}: {err}")
            raise
        self._finish(attempt, "requeue" if result.requeue else "success")
        return result

    # --- the steps --------------------------------------------------------------------

    async def _reconcile(self, webapp: WebApp, attempt: _Attempt) -> Result:
        live = await self._get_owned(Deployment, webapp)
        if live is not None and not self._controlled_by(live, webapp, attempt):
            return Result(requeue=True)
        before = (
            webapp_history.AppliedState.from_annotations(live.metadata.annotations)
            if live is not None and live.metadata is not None
            else None
        )
        generation = webapp.metadata.generation or 0
        if before is not None and before.generation > generation:
            # The Deployment is newer than our view of the WebApp: the WebApp cache lags.
            attempt.actions.append("waiting for the WebApp cache")
            return Result(requeue=True)
        image, replicas = _live_image_and_replicas(live)
        after = webapp_history.next_applied_state(
            before,
            webapp,
            actor=changed_by(webapp.metadata.annotations, _spec_wire(webapp)),
            live_image=image,
            live_replicas=replicas,
        )
        deployment = await self._sync_deployment(webapp, live, after, attempt)
        for record in webapp_history.history_records_due(webapp, before, after):
            self._submit(record)
            attempt.actions.append(f"history generation {record.generation}")
        service = await self._sync_service(webapp, attempt)
        await self._sync_status(webapp, deployment, service, attempt)
        return Result(requeue_after=self.options.requeue_after)

    async def _sync_deployment(
        self,
        webapp: WebApp,
        live: Deployment | None,
        applied: webapp_history.AppliedState,
        attempt: _Attempt,
    ) -> Deployment:
        desired = webapp_desired.desired_deployment(webapp, applied.to_annotations())
        if live is None:
            created = await self.writer.create(desired)
            attempt.actions.append("created Deployment")
            self.events.event(
                webapp,
                "Normal",
                "Created",
                f"Created Deployment {_name(created)} with image {webapp.spec.image} "
                f"and {webapp.spec.replicas} replicas",
            )
            return created
        drift = webapp_desired.deployment_drift(live, desired)
        if not drift:
            return live
        updated = await self.writer.update(webapp_desired.merge_deployment(live, desired))
        attempt.actions.append(f"updated Deployment ({', '.join(drift)})")
        if "replicas" in drift:
            self.events.event(
                webapp,
                "Normal",
                "Scaled",
                f"Scaled Deployment {_name(updated)} from {live.spec.replicas} "
                f"to {webapp.spec.replicas} replicas",
            )
        others = [name for name in drift if name != "replicas"]
        if others:
            self.events.event(
                webapp,
                "Normal",
                "Updated",
                f"Updated Deployment {_name(updated)}: {', '.join(others)}",
            )
        return updated

    async def _sync_service(self, webapp: WebApp, attempt: _Attempt) -> Service:
        desired = webapp_desired.desired_service(webapp)
        live = await self._get_owned(Service, webapp)
        if live is None:
            created = await self.writer.create(desired)
            attempt.actions.append("created Service")
            self.events.event(webapp, "Normal", "Created", f"Created Service {_name(created)}")
            return created
        if not self._controlled_by(live, webapp, attempt):
            return live
        drift = webapp_desired.service_drift(live, desired)
        if not drift:
            return live
        updated = await self.writer.update(webapp_desired.merge_service(live, desired))
        attempt.actions.append(f"updated Service ({', '.join(drift)})")
        self.events.event(
            webapp, "Normal", "Updated", f"Updated Service {_name(updated)}: {', '.join(drift)}"
        )
        return updated

    async def _sync_status(
        self, webapp: WebApp, deployment: Deployment, service: Service, attempt: _Attempt
    ) -> None:
        status = webapp_status.compute_status(
            webapp, deployment, service_name=_name(service), now=self.options.now()
        )
        attempt.ready_replicas = status.ready_replicas
        if not webapp_status.status_changed(webapp.status, status):
            return
        changed = webapp.model_copy(update={"status": status})
        await self.writer.update_status(changed)
        attempt.actions.append("updated status")
        old_ready = _condition_status(webapp, webapp_status.CONDITION_READY)
        new_ready = _condition_status(changed, webapp_status.CONDITION_READY)
        if old_ready != new_ready and new_ready == "True":
            self.events.event(
                webapp,
                "Normal",
                "Ready",
                f"{status.ready_replicas}/{webapp.spec.replicas} replicas ready",
            )

    # --- helpers ------------------------------------------------------------------------

    async def _get_owned(self, kind: type[T], webapp: WebApp) -> T | None:
        try:
            return await self.reader.get(kind, _name(webapp), webapp.metadata.namespace)
        except errors.NotFound:
            return None

    def _controlled_by(self, obj: Any, webapp: WebApp, attempt: _Attempt) -> bool:
        """False (with a Warning) if another controller owns ``obj``: never steal it."""
        owner = objects.controller_owner(obj)
        if owner is None or owner.uid == webapp.metadata.uid:
            return True
        kind = objects.kind_info(type(obj)).kind
        message = f"{kind} {_name(obj)} is controlled by {owner.kind} {owner.name} ({owner.uid})"
        attempt.actions.append(f"blocked: {message}")
        self.events.event(webapp, "Warning", "NotOwned", message)
        return False

    def _submit(self, record: Record) -> None:
        # The database is a side channel: a refused record must never fail a reconcile.
        try:
            self.records.submit(record)
        except Exception:
            _log.exception("record not submitted", record=type(record).__name__)

    def _finish(self, attempt: _Attempt, outcome: Outcome, *, error: str | None = None) -> None:
        duration = max(0.0, self.options.monotonic() - attempt.started)
        webapp = attempt.webapp
        meta = webapp.metadata
        if not meta.uid:
            return
        self._submit(
            ReconcileRecord(
                uid=meta.uid,
                namespace=meta.namespace or "",
                name=meta.name or "",
                kind=webapp.kind,
                started_at=attempt.started_at,
                duration_s=duration,
                outcome=outcome,
                actions=tuple(attempt.actions),
                error=error,
                generation=meta.generation,
                resource_version=meta.resourceVersion,
            )
        )
        now = self.options.now()
        ready = attempt.ready_replicas
        for name, value in (
            ("ready_replicas", float(webapp.status.ready_replicas if ready is None else ready)),
            ("desired_replicas", float(webapp.spec.replicas)),
            ("reconcile_seconds", duration),
        ):
            self._submit(MetricSample(uid=meta.uid, name=name, value=value, ts=now))
        if attempt.actions or outcome != "success":
            _log.info(
                "reconciled",
                webapp=f"{meta.namespace}/{meta.name}",
                outcome=outcome,
                actions=attempt.actions,
                error=error,
                seconds=round(duration, 4),
            )


def _name(obj: Any) -> str:
    return str(obj.metadata.name)


def _spec_wire(webapp: WebApp) -> dict[str, Any]:
    """The spec as ``kubeweft.api.changes`` hashes it: camelCase, defaults applied, no nulls."""
    return webapp.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _live_image_and_replicas(live: Deployment | None) -> tuple[str | None, int | None]:
    if live is None or live.spec is None:
        return None, None
    pod = live.spec.template.spec
    container = next(
        (c for c in (pod.containers if pod else []) if c.name == webapp_desired.CONTAINER_NAME),
        None,
    )
    return (container.image if container else None), live.spec.replicas


def _condition_status(webapp: WebApp, type_: str) -> str | None:
    for cond in webapp.status.conditions:
        if cond.type == type_:
            return cond.status.value
    return None
