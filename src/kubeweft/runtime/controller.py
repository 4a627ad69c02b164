"""A controller: sources fill a work queue; N workers take keys and reconcile them.

This is controller-runtime's ``internal/controller`` engine. What it guarantees:

* workers start only after every source's cache has synced (or fail after
  ``cache_sync_timeout``, 2 minutes by default), so no reconcile sees an empty cache;
* the queue never hands one key to two workers, so one object is never reconciled
  concurrently, whatever ``max_concurrent_reconciles`` is;
* a reconcile that raises is requeued with per-key backoff and counted; it never kills
  its worker. A ``TerminalError`` is counted and not retried. ``Result.requeue_after``
  forgets the backoff and looks again after the delay; ``Result.requeue`` retries with
  backoff; success forgets the backoff;
* on cancellation intake stops at once, reconciles in flight get ``drain_timeout``
  seconds to finish, and only then are they cancelled (graceful shutdown);
  :meth:`Controller.abort` (the Lease was lost) cancels them at once, also mid-drain;
* a reconcile that outlives ``reconcile_timeout`` is cancelled and handled as an error
  (backoff), counted in ``controller_runtime_reconcile_timeouts_total``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus

from kubeweft.logging import get_logger
from kubeweft.runtime import metrics
from kubeweft.runtime.cache import CacheSyncTimeout
from kubeweft.runtime.clock import Clock, RealClock
from kubeweft.runtime.errors import ApiError
from kubeweft.runtime.ratelimiter import RateLimiter
from kubeweft.runtime.reconcile import Reconciler, Request, Result, TerminalError
from kubeweft.runtime.source import Source
from kubeweft.runtime.workqueue import QueueShutDown, RateLimitingQueue

__all__ = ["CacheSyncTimeout", "Controller", "ControllerOptions"]

_log = get_logger("kubeweft.runtime.controller")

#: Failures a reconciler is expected to meet (the API said no, the call timed out).
#: Anything else is a bug — controller-runtime's "panic" — and is counted as such.
_EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ApiError, TimeoutError)


@dataclass
class ControllerOptions:
    """How a controller runs; defaults are controller-runtime's."""

    max_concurrent_reconciles: int = 1
    #: Seconds one reconcile may take before it is cancelled and retried as an error.
    reconcile_timeout: float | None = None
    #: None: max(per-key exponential 5 ms..1000 s, token bucket 10/s burst 100).
    rate_limiter: RateLimiter | None = None
    #: True: an unexpected exception is logged, counted as a panic and retried.
    #: False: it propagates and stops the controller (and its manager).
    recover_panic: bool = True
    cache_sync_timeout: float = 120.0
    #: Seconds in-flight reconciles get to finish on shutdown; None = the manager's
    #: graceful shutdown timeout when run by a manager, else 30 s.
    drain_timeout: float | None = None
    #: Controllers run only on the elected leader (``Manager`` honours it).
    need_leader_election: bool = True
    clock: Clock | None = None

    def __post_init__(self) -> None:
        if self.max_concurrent_reconciles < 1:
            raise ValueError("max_concurrent_reconciles must be >= 1")


class Controller:
    """Reconciles the keys its sources produce. Run it with ``run`` (a runnable)."""

    def __init__(
        self, name: str, reconciler: Reconciler, options: ControllerOptions | None = None
    ) -> None:
        if not name:
            raise ValueError("a controller needs a name (it labels logs and metrics)")
        self.name = name
        self.reconciler = reconciler
        self.options = options or ControllerOptions()
        self._clock = self.options.clock or RealClock()
        self.queue: RateLimitingQueue[Request] = RateLimitingQueue(
            name, rate_limiter=self.options.rate_limiter, clock=self._clock
        )
        #: Seconds in-flight reconciles get on shutdown; a manager sets its own if unset.
        self.drain_timeout: float | None = self.options.drain_timeout
        self._sources: list[Source] = []
        self._started = False
        self._stopping = False
        self._aborted = False
        self._workers_shield: anyio.CancelScope | None = None
        self._workers_done = anyio.Event()
        self._total = {
            result: metrics.RECONCILE_TOTAL.labels(name, result)
            for result in ("success", "error", "requeue", "requeue_after")
        }
        self._errors = metrics.RECONCILE_ERRORS.labels(name)
        self._terminal = metrics.TERMINAL_RECONCILE_ERRORS.labels(name)
        self._panics = metrics.RECONCILE_PANICS.labels(name)
        self._timeouts = metrics.RECONCILE_TIMEOUTS.labels(name)
        self._time = metrics.RECONCILE_TIME.labels(name)
        self._active = metrics.ACTIVE_WORKERS.labels(name)

    @property
    def need_leader_election(self) -> bool:
        return self.options.need_leader_election

    def watch(self, source: Source) -> None:
        """Add a source; all sources must be added before ``run``."""
        if self._started:
            raise RuntimeError("watch() after run() is not supported")
        self._sources.append(source)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start sources, wait for their caches, run workers until cancelled, then drain.

        ``task_status.started()`` is signalled once the caches synced and workers run.
        """
        if self._started:
            raise RuntimeError(f"controller {self.name} was already started")
        self._started = True
        workers = max(1, self.options.max_concurrent_reconciles)
        metrics.MAX_CONCURRENT_RECONCILES.labels(self.name).set(workers)
        log = _log.bind(controller=self.name)
        async with anyio.create_task_group() as tg:
            for source in self._sources:
                await source.start(self.queue, tg)
            with anyio.move_on_after(self.options.cache_sync_timeout) as sync_scope:
                for source in self._sources:
                    await source.wait_for_sync()
            if not sync_scope.cancelled_caught:
                await self._work_until_stopped(workers, task_status, log)
            tg.cancel_scope.cancel()  # source tasks (channels) end with the controller
        if sync_scope.cancelled_caught:
            raise CacheSyncTimeout(
                f"controller {self.name}: caches did not sync within "
                f"{self.options.cache_sync_timeout} s"
            )

    async def _work_until_stopped(
        self, workers: int, task_status: TaskStatus[None], log: Any
    ) -> None:
        async with anyio.create_task_group() as tg:
            # Workers live under a shield: cancelling ``run`` must not cancel a reconcile
            # half-way; the ``finally`` below stops intake and drains them instead.
            shield = self._workers_shield = anyio.CancelScope(shield=True)
            if self._aborted:
                shield.cancel()
            tg.start_soon(self._run_workers, shield, workers)
            log.info("starting workers", workers=workers)
            task_status.started()
            try:
                await self._workers_done.wait()  # returns early only if a worker crashed
            finally:
                with anyio.CancelScope(shield=True):
                    await self._drain(shield, log)

    def stop(self) -> None:
        """Stop intake; workers finish what they hold and ``run`` returns."""
        self._stopping = True
        self.queue.shut_down()

    def abort(self) -> None:
        """Stop intake and cancel in-flight reconciles now, without a drain — also one
        already under way. For a lost Lease: another replica may be reconciling."""
        self._aborted = True
        self.drain_timeout = 0.0
        self.stop()
        if self._workers_shield is not None:
            self._workers_shield.cancel()

    async def _drain(self, shield: anyio.CancelScope, log: Any) -> None:
        self.stop()
        timeout = 30.0 if self.drain_timeout is None else self.drain_timeout
        in_flight = self.queue.processing
        if in_flight:
            log.info("draining in-flight reconciles", in_flight=in_flight, timeout=timeout)
        with anyio.move_on_after(timeout) as scope:
            await self._workers_done.wait()
        if scope.cancelled_caught:
            log.warning("drain timeout: cancelling reconciles", in_flight=self.queue.processing)
            shield.cancel()
            await self._workers_done.wait()
        log.info("workers stopped")

    async def _run_workers(self, shield: anyio.CancelScope, workers: int) -> None:
        try:
            with shield:
                async with anyio.create_task_group() as tg:
                    for index in range(workers):
                        tg.start_soon(self._worker, name=f"{self.name}-worker-{index}")
        finally:
            self._workers_done.set()

    async def _worker(self) -> None:
        while not self._stopping:
            try:
                request = await self.queue.get()
            except QueueShutDown:
                return
            if self._stopping:  # queued before shutdown: left for the next leader/start
                self.queue.done(request)
                return
            await self.reconcile_handler(request)

    async def reconcile_handler(self, request: Request) -> None:
        """Reconcile one key taken from the queue and apply the result rules."""
        self._active.inc()
        started = self._clock.now()
        try:
            await self._reconcile_and_requeue(request)
        finally:
            self._time.observe(max(0.0, self._clock.now() - started))
            self._active.dec()
            self.queue.done(request)

    async def _reconcile_and_requeue(self, request: Request) -> None:
        try:
            result = await self._call_reconciler(request)
        except TerminalError as err:
            self._terminal.inc()
            self._errors.inc()
            self._total["error"].inc()
            self.queue.forget(request)
            _log.error(
                "terminal reconciler error; not retried",
                controller=self.name,
                request=str(request),
                exc_info=err,
            )
            return
        except Exception as err:
            panic = not isinstance(err, _EXPECTED_ERRORS)
            if panic:
                self._panics.inc()
            self._errors.inc()
            self._total["error"].inc()
            if panic and not self.options.recover_panic:
                raise
            self.queue.add_rate_limited(request)
            _log.error(
                "reconciler error",
                controller=self.name,
                request=str(request),
                retries=self.queue.num_requeues(request),
                panic=panic,
                exc_info=err,
            )
            return
        if result.requeue_after is not None and result.requeue_after > 0:
            self.queue.forget(request)
            self.queue.add_after(request, result.requeue_after)
            self._total["requeue_after"].inc()
        elif result.requeue:
            self.queue.add_rate_limited(request)
            self._total["requeue"].inc()
        else:
            self.queue.forget(request)
            self._total["success"].inc()

    async def _call_reconciler(self, request: Request) -> Result:
        timeout = self.options.reconcile_timeout
        if timeout is None or math.isinf(timeout):
            result = await self.reconciler.reconcile(request)
        else:
            with anyio.move_on_after(timeout) as scope:
                result = await self.reconciler.reconcile(request)
            if scope.cancelled_caught:
                self._timeouts.inc()
                raise TimeoutError(f"reconcile of {request} exceeded {timeout} s")
        if not isinstance(result, Result):
            raise TypeError(f"reconcile() returned {result!r}, not a Result")
        return result

    def __repr__(self) -> str:
        return f"Controller({self.name!r})"
