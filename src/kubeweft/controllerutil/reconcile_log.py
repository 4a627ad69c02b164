"""The reconcile log and the change history, written by the framework for every controller.

``kubeweft.App`` wraps each reconciler it builds in a :class:`LoggedReconciler`: every
reconcile of an object that exists becomes one ``ReconcileRecord`` (outcome, duration,
error, generation and resourceVersion), and the first successful reconcile of each
generation one ``HistoryRecord`` (the spec of that generation, the user who set it and,
for a rollback, the generation it rolled back to: ``kubeweft.api.changes``), both
submitted to the database's record sink. The history row is exactly once per (uid,
generation) because the database ignores a repeat, so a retry, a restart or another
replica taking over cannot duplicate it; the in-memory "already recorded" mark only
saves the sink the work. With a writer that has a spool (``db.spool``) the record of a
generation not yet recorded is kept on disk *while* the reconciler starts (so the fsync
does not delay its first write, e.g. the Deployment a spec change is for) and *before*
it can advance ``observedGeneration``: ``controllerutil.patch_status`` waits for
:meth:`Attempt.kept` first, and the attempt does not end before it. It is dropped again
when the attempt fails: a kill -9 while the database is down loses no generation that
was observed. A reconciler that writes status some other way awaits
``current_attempt().kept()`` before it. A reconciler therefore
contains no database code of its own; it only *reports* into the attempt under way, through
:func:`current_attempt` (also ``ControllerContext.attempt()``):

    current_attempt().action("created Deployment")
    current_attempt().sample("ready_replicas", 3)
    current_attempt().requeue("blocked: someone else's Deployment")

Actions go into the attempt's reconcile-log row; samples become metric samples of the
object, written only when a value changed or its heartbeat is due
(``controllerutil.sampling``), so a steady object costs a row per heartbeat, not one per
reconcile. The attempt travels in a context variable, so the reconciler needs no extra
argument and a reconciler run outside the framework (a unit test) reports into a
throwaway one. The database is a side channel: a sink that refuses a record never fails
a reconcile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio

from kubeweft.api import CustomResource
from kubeweft.api.changes import change_of
from kubeweft.controllerutil.client import Reader
from kubeweft.controllerutil.sampling import DEFAULT_HEARTBEAT, ChangeSampler
from kubeweft.db.records import HistoryRecord, Outcome, ReconcileRecord, Record
from kubeweft.db.writer import RecordWriter
from kubeweft.logging import get_logger
from kubeweft.runtime import errors
from kubeweft.runtime.reconcile import Reconciler, Request, Result

__all__ = [
    "Attempt",
    "LoggedReconciler",
    "LoggedReconcilerOptions",
    "RecordSink",
    "current_attempt",
]

_log = get_logger("kubeweft.controllerutil.reconcile_log")


class RecordSink(Protocol):
    """Where records go (``db.writer.RecordWriter``); ``submit`` never blocks."""

    def submit(self, record: Record) -> None: ...


@dataclass
class Attempt:
    """What the reconcile under way reported: its actions, samples, and whether it waits."""

    actions: list[str] = field(default_factory=list)
    #: Set by :meth:`requeue`: the attempt is logged as "requeue" whatever it returns.
    waiting: str | None = None
    #: Metric values seen by this attempt, by name (the last report of a name wins).
    samples: dict[str, float] = field(default_factory=dict)
    #: Set once this attempt's history record is on disk (None: nothing to keep).
    on_disk: anyio.Event | None = field(default=None, repr=False)

    async def kept(self) -> None:
        """Wait until the history record of the generation under way is on disk (the
        spool), so a status write that advances ``observedGeneration`` cannot outrun it."""
        if self.on_disk is not None:
            await self.on_disk.wait()

    def action(self, what: str) -> None:
        """Add ``what`` (``"created ConfigMap"``) to this attempt's reconcile-log row."""
        self.actions.append(what)

    def sample(self, name: str, value: float) -> None:
        """Report the object's metric ``name`` at ``value`` (stored if it changed)."""
        if not name:
            raise ValueError("a metric sample needs a name")
        self.samples[name] = float(value)

    def requeue(self, reason: str) -> None:
        """Log this attempt as a requeue (blocked, or behind the API server) with a reason."""
        self.waiting = reason


_current: ContextVar[Attempt | None] = ContextVar("kubeweft_reconcile_attempt", default=None)


def current_attempt() -> Attempt:
    """The attempt being logged; a throwaway one when no :class:`LoggedReconciler` runs."""
    attempt = _current.get()
    return Attempt() if attempt is None else attempt


@dataclass(frozen=True)
class LoggedReconcilerOptions:
    #: Wall-clock time of ``started_at`` (injectable for tests).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Monotonic seconds for ``duration_s``.
    monotonic: Callable[[], float] = time.monotonic
    #: An unchanged metric value is written again after this long.
    sample_heartbeat: timedelta = DEFAULT_HEARTBEAT


class LoggedReconciler:
    """Runs ``inner`` and logs each attempt on an object of ``model`` that exists."""

    def __init__(
        self,
        inner: Reconciler,
        model: type[CustomResource],
        reader: Reader,
        records: RecordSink,
        options: LoggedReconcilerOptions | None = None,
    ) -> None:
        self.inner = inner
        self.model = model
        self.reader = reader
        self.records = records
        self.options = options or LoggedReconcilerOptions()
        #: The newest generation recorded in history per UID (by this process).
        self._recorded: dict[str, int] = {}
        self.spool = records.spool if isinstance(records, RecordWriter) else None
        #: Generations per UID whose record this process keeps in the spool, unsubmitted.
        self._held: dict[str, set[int]] = {}
        self._sampler = ChangeSampler(self.options.sample_heartbeat)
        #: The UID each key was last reconciled with, to forget it once deleted.
        self._uids: dict[Request, str] = {}

    async def reconcile(self, request: Request) -> Result:
        try:
            obj: Any = await self.reader.get(self.model, request.name, request.namespace)
        except errors.NotFound:
            obj = None  # deleted: nothing to log against (no UID)
            self._forget(request)
        change = self._change(obj)
        attempt = Attempt(on_disk=anyio.Event() if self._to_keep(change) else None)
        token = _current.set(attempt)
        started_at, started = self.options.now(), self.options.monotonic()
        failure: Exception | None = None
        try:
            # The record goes to disk while the reconciler starts; the attempt (and any
            # status write, through Attempt.kept) waits for it.
            async with anyio.create_task_group() as group:
                if attempt.on_disk is not None and change is not None:
                    group.start_soon(self._hold, change, attempt.on_disk)
                try:
                    result = await self.inner.reconcile(request)
                except Exception as err:  # raised below, outside the task group
                    failure = err
        except BaseException as err:  # cancelled: stopping, so in doubt, kept
            self._finish(obj, attempt, started_at, started, "error", f"{type(err).__name__}: {err}")
            self._write_samples(request, obj, attempt)
            raise
        finally:
            _current.reset(token)
        if failure is not None:
            self._release(change)
            error = f"{type(failure).__name__}: {failure}"
            self._finish(obj, attempt, started_at, started, "error", error)
            self._write_samples(request, obj, attempt)
            raise failure
        outcome: Outcome = "requeue" if result.requeue or attempt.waiting else "success"
        self._finish(obj, attempt, started_at, started, outcome, attempt.waiting)
        self._write_samples(request, obj, attempt)
        if outcome == "success":
            self._record(change)
        else:
            self._release(change)
        return result

    def _change(self, obj: Any) -> HistoryRecord | None:
        """The history record of ``obj``'s generation, unless already recorded."""
        meta = obj.metadata if obj is not None else None
        generation = meta.generation if meta is not None else None
        if not meta or not meta.uid or generation is None:
            return None
        if self._recorded.get(meta.uid, -1) >= generation:
            return None
        body = getattr(obj, "spec", None)
        spec = body.model_dump(mode="json", by_alias=True, exclude_none=True) if body else {}
        change = change_of(meta.annotations, spec)
        return HistoryRecord(
            uid=meta.uid,
            namespace=meta.namespace or "",
            name=meta.name or "",
            kind=self.model.model_info.kind,
            generation=generation,
            spec=spec,
            actor=change.user if change is not None else None,
            rolled_back_to=change.rolled_back_to if change is not None else None,
        )

    def _to_keep(self, change: HistoryRecord | None) -> bool:
        """Whether ``change`` still has to go to the spool."""
        return (
            change is not None
            and self.spool is not None
            and change.generation not in self._held.get(change.uid, set())
        )

    async def _hold(self, change: HistoryRecord, on_disk: anyio.Event) -> None:
        """Keep the record a success would submit in the spool; set ``on_disk`` after."""
        assert self.spool is not None
        # Shielded: a stopping process lets the few milliseconds of a keep finish, so
        # an attempt cut short has its record either on disk and held, or not at all.
        with anyio.CancelScope(shield=True):
            try:
                if await anyio.to_thread.run_sync(self.spool.keep, change):
                    self._held.setdefault(change.uid, set()).add(change.generation)
            except Exception:  # a side channel: without the disk, history waits in memory
                _log.exception("history record not kept on disk", uid=change.uid)
            finally:
                on_disk.set()

    def _release(self, change: HistoryRecord | None) -> None:
        """The attempt failed: its generation waits for a success, not on disk."""
        if change is not None:
            self._drop_held(change, lambda generation: generation == change.generation)

    def _record(self, change: HistoryRecord | None) -> None:
        if change is None or not self._submit(change):
            return
        self._recorded[change.uid] = change.generation
        # The writer drops this generation's file once its row is stored. Older files
        # this process holds are of attempts cut short (cancelled) and then superseded.
        self._held.get(change.uid, set()).discard(change.generation)
        self._drop_held(change, lambda generation: generation < change.generation)

    def _drop_held(self, change: HistoryRecord, which: Callable[[int], bool]) -> None:
        held = self._held.get(change.uid, set())
        for generation in [g for g in held if which(g)]:
            held.discard(generation)
            if self.spool is not None:
                with contextlib.suppress(OSError):  # replayed at the next start: one row
                    self.spool.drop(dataclasses.replace(change, generation=generation))
        if not held:
            self._held.pop(change.uid, None)

    def _write_samples(self, request: Request, obj: Any, attempt: Attempt) -> None:
        uid = obj.metadata.uid if obj is not None else None
        if not uid or not attempt.samples:
            return
        self._uids[request] = uid
        accepted = [
            sample
            for sample in self._sampler.samples(uid, attempt.samples, self.options.now())
            if self._submit(sample)
        ]
        self._sampler.written(accepted)

    def _forget(self, request: Request) -> None:
        uid = self._uids.pop(request, None)
        if uid is not None:
            self._sampler.forget(uid)
            self._recorded.pop(uid, None)

    def _submit(self, record: Record) -> bool:
        # The database is a side channel: a refused record must never fail a reconcile.
        try:
            self.records.submit(record)
        except Exception:
            _log.exception("record not submitted", record=type(record).__name__)
            return False
        return True

    def _finish(
        self,
        obj: Any,
        attempt: Attempt,
        started_at: datetime,
        started: float,
        outcome: Outcome,
        error: str | None,
    ) -> None:
        duration = max(0.0, self.options.monotonic() - started)
        meta = obj.metadata if obj is not None else None
        if meta is None or not meta.uid:
            return
        self._submit(
            ReconcileRecord(
                uid=meta.uid,
                namespace=meta.namespace or "",
                name=meta.name or "",
                kind=self.model.model_info.kind,
                started_at=started_at,
                duration_s=duration,
                outcome=outcome,
                actions=tuple(attempt.actions),
                error=error,
                generation=meta.generation,
                resource_version=meta.resourceVersion,
            )
        )
        if attempt.actions or outcome != "success":
            _log.info(
                "reconciled",
                kind=self.model.model_info.kind,
                object=f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name,
                outcome=outcome,
                actions=attempt.actions,
                error=error,
                seconds=round(duration, 4),
            )
