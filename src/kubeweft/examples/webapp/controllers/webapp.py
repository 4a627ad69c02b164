"""The WebApp reconciler: one WebApp in, a Deployment, a Service and a status out.

Level-triggered, as every reconciler: given only a key it reads the WebApp from the
cache, brings its Deployment and Service to what it asks for with
``controllerutil.create_or_update`` — which writes only what differs — and patches the
status only if it changed. The same code path creates, updates, reverts hand edits (an
owned object's event maps back to its owner through the controller ownerReference)
and, every ``requeue_after`` seconds, samples metrics.

A Deployment or Service of the WebApp's name that kubeweft did not create is never
taken over: the WebApp reports it (a ``NotOwned`` condition and a Warning Event) and
looks again every ``requeue_after`` seconds, so it recovers once the object is gone.

Owned objects are written with a plain *update* carrying the resourceVersion read from
the cache, not with server-side apply: the Deployment's annotations are a small state
machine (which generation was applied, from what — see ``webapp_history``), and an
update that fails with 409 on a stale cache is exactly the compare-and-swap that state
needs. Details: ``docs/design/webapp-controller.md``.

The reconcile log, the change history and the metric samples are the framework's
(``controllerutil.reconcile_log``): this module only reports, into the attempt under
way, the actions it took and the replicas it saw; it never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft import controllerutil
from kubeweft.api.changes import changed_by
from kubeweft.controllerutil import OperationResult
from kubeweft.controllerutil.reconcile_log import current_attempt
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import webapp_desired, webapp_history, webapp_status
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Request, Result

__all__ = [
    "EventSink",
    "ObjectReader",
    "ObjectWriter",
    "WebAppReconciler",
    "WebAppReconcilerOptions",
]

EventType = Literal["Normal", "Warning"]

#: Where the reconciler reads (the manager's cache) and writes (the API server).
ObjectReader = controllerutil.Reader
ObjectWriter = controllerutil.Writer


class EventSink(Protocol):
    """Kubernetes Events on the WebApp (``runtime.recorder.EventRecorder``)."""

    def event(self, obj: Any, type: EventType, reason: str, message: str) -> None: ...


class _NullEvents:
    def event(self, obj: Any, type: EventType, reason: str, message: str) -> None:
        return None


@dataclass(frozen=True)
class WebAppReconcilerOptions:
    #: Look at every WebApp again after this many seconds (the metrics' heartbeat).
    requeue_after: float = 30.0
    #: Wall-clock time for status timestamps (injectable for tests).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class _Attempt:
    """What one reconcile did, for the metric samples (the log is the framework's)."""

    webapp: WebApp
    actions: list[str] = field(default_factory=lambda: current_attempt().actions)
    #: ``readyReplicas`` as last computed (the cached status until then).
    ready_replicas: int | None = None
    #: The children created, announced in one Event (each Event is an API write).
    created: list[str] = field(default_factory=list)


class _CacheBehind(Exception):
    """The Deployment was built from a newer generation than the cached WebApp."""


@dataclass
class _DeploymentChange:
    """The Deployment's mutate function; remembers what it saw for history and Events."""

    webapp: WebApp
    before: webapp_history.AppliedState | None = None
    after: webapp_history.AppliedState | None = None
    live_replicas: int | None = None
    changed: list[str] = field(default_factory=list)

    def __call__(self, live: Deployment) -> None:
        webapp, annotations = self.webapp, live.metadata.annotations if live.metadata else None
        self.before = webapp_history.AppliedState.from_annotations(annotations)
        if self.before is not None and self.before.generation > (webapp.metadata.generation or 0):
            raise _CacheBehind
        image, self.live_replicas = _live_image_and_replicas(live)
        self.after = webapp_history.next_applied_state(
            self.before,
            webapp,
            actor=changed_by(webapp.metadata.annotations, _spec_wire(webapp)),
            live_image=image,
            live_replicas=self.live_replicas,
        )
        desired = webapp_desired.desired_deployment(webapp, self.after.to_annotations())
        self.changed = webapp_desired.update_deployment(live, desired)


class WebAppReconciler:
    """Implements ``runtime.reconcile.Reconciler`` for WebApp."""

    def __init__(
        self,
        reader: ObjectReader,
        writer: ObjectWriter,
        *,
        events: EventSink | None = None,
        options: WebAppReconcilerOptions | None = None,
    ) -> None:
        self.client = controllerutil.DelegatingClient(reader, writer)
        self.events: EventSink = events or _NullEvents()
        self.options = options or WebAppReconcilerOptions()

    async def reconcile(self, request: Request) -> Result:
        try:
            webapp = await self.client.get(WebApp, request.name, request.namespace)
        except errors.NotFound:
            # Deleted: Kubernetes' garbage collector removes what it owned.
            return Result()
        if webapp.metadata.deletionTimestamp is not None:
            return Result()
        attempt = _Attempt(webapp)
        try:
            return await self._reconcile(webapp, attempt)
        except (errors.Conflict, errors.AlreadyExists) as err:
            # Our cache was behind the API server; read again after a short backoff.
            # Expected under churn, so a requeue rather than an error (no error storm).
            current_attempt().requeue(str(err))
            return Result(requeue=True)
        finally:
            self._sample(attempt)

    # --- the steps --------------------------------------------------------------------

    async def _reconcile(self, webapp: WebApp, attempt: _Attempt) -> Result:
        deployment: Deployment | None = None
        service: Service | None = None
        not_owned: str | None = None
        reason = webapp_status.REASON_NOT_OWNED
        try:
            deployment = await self._sync_deployment(webapp, attempt)
            service = await self._sync_service(webapp, attempt)
        except _CacheBehind:
            attempt.actions.append("waiting for the WebApp cache")
            return Result(requeue=True)
        except controllerutil.NotOwnedError as err:
            # Someone else's object has the name: never write it; say so on the WebApp.
            not_owned = str(err)
        except errors.Invalid as err:
            # A child the API server refuses as built (a WebApp named web.shop, stored
            # before its CRD refused names a Service cannot take): retrying cannot help
            # until the WebApp changes, so say so on it instead of failing every attempt.
            not_owned = f"The API server refused a child object: {err.message or err}"
            reason = webapp_status.REASON_REJECTED
        finally:
            if attempt.created:
                created = " and ".join(attempt.created)
                self.events.event(webapp, "Normal", "Created", f"Created {created}")
        if not_owned is not None:
            attempt.actions.append(f"blocked: {not_owned}")
            current_attempt().requeue(not_owned)
            self.events.event(webapp, "Warning", reason, not_owned)
        await self._sync_status(webapp, deployment, service, not_owned, attempt, reason)
        return Result(requeue_after=self.options.requeue_after)

    async def _sync_deployment(self, webapp: WebApp, attempt: _Attempt) -> Deployment:
        deployment = webapp_desired.desired_deployment(webapp, {})
        change = _DeploymentChange(webapp)
        result = await controllerutil.create_or_update(
            self.client, deployment, change, owner=webapp
        )
        if result is OperationResult.CREATED:
            attempt.actions.append("created Deployment")
            attempt.created.append(
                f"Deployment {_name(deployment)} (image {webapp.spec.image}, "
                f"{webapp.spec.replicas} replicas)"
            )
        elif result is OperationResult.UPDATED:
            self._updated(webapp, deployment, change.changed, attempt, change.live_replicas)
        return deployment

    async def _sync_service(self, webapp: WebApp, attempt: _Attempt) -> Service:
        desired = webapp_desired.desired_service(webapp)
        service = webapp_desired.desired_service(webapp)
        changed: list[str] = []

        def mutate(live: Service) -> None:
            changed.extend(webapp_desired.update_service(live, desired))

        result = await controllerutil.create_or_update(self.client, service, mutate, owner=webapp)
        if result is OperationResult.CREATED:
            attempt.actions.append("created Service")
            attempt.created.append(f"Service {_name(service)}")
        elif result is OperationResult.UPDATED:
            self._updated(webapp, service, changed, attempt)
        return service

    async def _sync_status(
        self,
        webapp: WebApp,
        deployment: Deployment | None,
        service: Service | None,
        not_owned: str | None,
        attempt: _Attempt,
        reason: str = webapp_status.REASON_NOT_OWNED,
    ) -> None:
        status = webapp_status.compute_status(
            webapp,
            deployment,
            service_name=_name(service) if service is not None else None,
            now=self.options.now(),
            not_owned=not_owned,
            blocked_reason=reason,
        )
        attempt.ready_replicas = status.ready_replicas
        changed = webapp.model_copy(update={"status": status})
        if not await controllerutil.patch_status(self.client, changed, webapp):
            return
        attempt.actions.append("updated status")
        ready = webapp_status.CONDITION_READY
        if not controllerutil.is_status_condition_true(
            webapp.status.conditions, ready
        ) and controllerutil.is_status_condition_true(status.conditions, ready):
            self.events.event(
                webapp,
                "Normal",
                "Ready",
                f"{status.ready_replicas}/{webapp.spec.replicas} replicas ready",
            )

    # --- helpers ------------------------------------------------------------------------

    def _updated(
        self,
        webapp: WebApp,
        obj: Deployment | Service,
        changed: list[str],
        attempt: _Attempt,
        replicas_before: int | None = None,
    ) -> None:
        """Log and announce an update; nothing of ours changed means we adopted it."""
        kind, name = type(obj).__name__, _name(obj)
        changed = changed or ["ownerReferences"]
        attempt.actions.append(f"updated {kind} ({', '.join(changed)})")
        if "replicas" in changed:
            self.events.event(
                webapp,
                "Normal",
                "Scaled",
                f"Scaled {kind} {name} from {replicas_before} to {webapp.spec.replicas} replicas",
            )
        others = [what for what in changed if what != "replicas"]
        if others:
            self.events.event(
                webapp, "Normal", "Updated", f"Updated {kind} {name}: {', '.join(others)}"
            )

    def _sample(self, attempt: _Attempt) -> None:
        """Report the replicas; the framework stores them when they change."""
        webapp, ready = attempt.webapp, attempt.ready_replicas
        report = current_attempt()
        report.sample("ready_replicas", webapp.status.ready_replicas if ready is None else ready)
        report.sample("desired_replicas", webapp.spec.replicas)


def _name(obj: Any) -> str:
    return str(obj.metadata.name)


def _spec_wire(webapp: WebApp) -> dict[str, Any]:
    """The spec as ``kubeweft.api.changes`` hashes it: camelCase, defaults applied, no nulls."""
    return webapp.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _live_image_and_replicas(live: Deployment) -> tuple[str | None, int | None]:
    """What the live Deployment runs; nothing for one not created yet (no resourceVersion)."""
    if live.spec is None or live.metadata is None or not live.metadata.resourceVersion:
        return None, None
    pod = live.spec.template.spec
    container = next(
        (c for c in (pod.containers if pod else []) if c.name == webapp_desired.CONTAINER_NAME),
        None,
    )
    return (container.image if container else None), live.spec.replicas
