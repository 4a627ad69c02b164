"""The manager: runs caches, leader election, controllers and servers as one tree.

Order matters, and it is controller-runtime's: caches start first and must sync
(a controller reading an empty cache would delete or recreate everything); runnables
that do not need leadership (HTTP servers, the probe endpoint) start right after, on
every replica; then the replica campaigns for the Lease, and only once elected does it
start the leader runnables (controllers). All of them are tasks of one anyio task-group
tree, so a failure anywhere cancels the rest and surfaces from ``Manager.run``.

Shutdown is cancellation flowing down that tree, in reverse order: controllers stop
intake and drain in-flight reconciles (bounded by ``graceful_shutdown_timeout``) while
the lease is still held; then the lease is released so a standby takes over at once;
caches stop last. Losing the lease is different: like controller-runtime, the manager
skips the graceful drain (another replica may already be reconciling), cancels the
controllers at once — in the same step in which the elector gives up, before a standby
can acquire, and also when a graceful drain is already under way — and ``run`` raises
:class:`LeaderElectionLost` so the process exits with an error and is restarted as a
standby.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import anyio
from anyio.abc import TaskStatus

from kubeweft.logging import get_logger
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.healthz import Checker, CheckFailed, CheckResult, Checks
from kubeweft.runtime.leaderelection import (
    LeaderElectionLost,
    LeaderElectionOptions,
    LeaderElector,
)
from kubeweft.runtime.recorder import EventRecorder
from kubeweft.runtime.runnable import Runnable, needs_leader_election

__all__ = ["Elector", "LeaderState", "Manager", "ManagerOptions"]

_log = get_logger("kubeweft.runtime.manager")

LeaderState = Literal["disabled", "standby", "leader", "lost", "stopped"]


@dataclass
class ManagerOptions:
    """Manager settings; lease timings and the shutdown timeout are controller-runtime's."""

    leader_election: bool = False
    leader_election_id: str = ""
    leader_election_namespace: str = "default"
    #: Defaults to ``hostname_uuid``.
    leader_election_identity: str | None = None
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    leader_election_release_on_cancel: bool = True
    #: The client the elector renews the Lease with (default: the manager's). Its own
    #: connection pool keeps renewals from queueing behind REST and review traffic.
    leader_election_client: Any = None
    #: Seconds controllers get to finish in-flight reconciles on shutdown.
    graceful_shutdown_timeout: float = 30.0
    #: Once the caches have synced, collect and ``gc.freeze()`` what exists: the
    #: imported modules and the initial cache are never garbage, and a full collection
    #: that skips them pauses the event loop (every reconcile, every request) for a
    #: fraction of the time. For a process's one manager; tests leave it off.
    freeze_gc_after_sync: bool = False

    def __post_init__(self) -> None:
        if self.leader_election and not self.leader_election_id:
            raise ValueError("leader_election needs a leader_election_id (the Lease name)")


class Elector(Protocol):
    """What the manager needs of a leader elector (``LeaderElector`` in production)."""

    elected: anyio.Event
    is_leader: bool

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None: ...


class _Cache(Protocol):
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None: ...

    def has_synced(self) -> bool: ...


class Manager:
    """Owns the client and cache; runs added runnables in controller-runtime's order."""

    def __init__(
        self,
        client: Any,
        cache: Any,
        options: ManagerOptions | None = None,
        *,
        elector: Elector | None = None,
    ) -> None:
        self.client = client
        self.cache: _Cache = cache
        self.options = options or ManagerOptions()
        self._elector = elector
        self._leader_runnables: list[Runnable] = []
        self._recorders: dict[str, EventRecorder] = {}
        self._other_runnables: list[Runnable] = []
        self._healthz = Checks()
        self._readyz = Checks()
        self._running = False
        self._caches_synced = False
        self._leader_state: LeaderState = "disabled" if not self._leader_election else "standby"
        self._readyz.add("cache-sync", self._check_caches_synced)
        self._readyz.add("leader-election", self._check_leader_election)
        self._healthz.add("manager", self._check_alive)

    # --- composition -----------------------------------------------------------------

    def add(self, runnable: Runnable) -> None:
        """Add a runnable; one that needs leader election runs only on the leader."""
        if self._running:
            raise RuntimeError("add() after run() is not supported")
        if isinstance(runnable, Controller) and runnable.drain_timeout is None:
            runnable.drain_timeout = self.options.graceful_shutdown_timeout
        if needs_leader_election(runnable):
            self._leader_runnables.append(runnable)
        else:
            self._other_runnables.append(runnable)

    def event_recorder(self, component: str) -> EventRecorder:
        """The manager's Event recorder for ``component`` (one per component), writing
        with the manager's client. The manager runs it on the leader, started before
        the controllers that record with it, and stops it with them."""
        recorder = self._recorders.get(component)
        if recorder is None:
            if self._running:
                raise RuntimeError("event_recorder() after run() is not supported")
            recorder = self._recorders[component] = EventRecorder(self.client, component)
            # First among the leader runnables: running before any controller records.
            self._leader_runnables.insert(0, recorder)
        return recorder

    def add_healthz_check(self, name: str, check: Checker) -> None:
        self._healthz.add(name, check)

    def add_readyz_check(self, name: str, check: Checker) -> None:
        self._readyz.add(name, check)

    async def check_health(self) -> CheckResult:
        return await self._healthz.run()

    async def check_ready(self) -> CheckResult:
        return await self._readyz.run()

    @property
    def leader_state(self) -> LeaderState:
        """``disabled`` (no election: always active), ``standby``, ``leader``, ``lost``."""
        return self._leader_state

    @property
    def elected(self) -> bool:
        """Whether leader runnables may run here (always true without leader election)."""
        return self._leader_state in ("disabled", "leader")

    # --- the runnable ----------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled (or a runnable fails); ``started()`` once caches synced,
        servers started and the campaign (or, without election, the controllers) began."""
        if self._running:
            raise RuntimeError("the manager is already running")
        self._running = True
        try:
            async with anyio.create_task_group() as root:
                # Caches stop last: draining reconciles still read from them.
                cache_scope = anyio.CancelScope(shield=True)
                try:
                    await root.start(self._run_in, cache_scope, self.cache.run)
                    self._caches_synced = True
                    _log.info("caches synced")
                    if self.options.freeze_gc_after_sync:
                        gc.collect()
                        gc.freeze()
                    async with anyio.create_task_group() as group:
                        for runnable in self._other_runnables:
                            await group.start(runnable.run)
                        if self._leader_election:
                            await group.start(self._lead)
                        else:
                            group.start_soon(self._run_leader_runnables)
                        task_status.started()
                        await anyio.sleep_forever()
                finally:
                    cache_scope.cancel()
        finally:
            self._running = False
            if self._leader_state != "lost":
                self._leader_state = "stopped" if self._leader_election else "disabled"

    @property
    def _leader_election(self) -> bool:
        return self.options.leader_election or self._elector is not None

    def _make_elector(self) -> Elector:
        opts = self.options
        election = LeaderElectionOptions(
            name=opts.leader_election_id,
            namespace=opts.leader_election_namespace,
            lease_duration=opts.lease_duration,
            renew_deadline=opts.renew_deadline,
            retry_period=opts.retry_period,
            release_on_cancel=opts.leader_election_release_on_cancel,
        )
        if opts.leader_election_identity:
            election = replace(election, identity=opts.leader_election_identity)
        return LeaderElector(opts.leader_election_client or self.client, election)

    async def _lead(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        elector = self._elector = self._elector or self._make_elector()
        # The elector is shielded from the manager's cancellation so the lease stays held
        # while controllers drain; it is cancelled (and releases) right after them.
        elector_scope = anyio.CancelScope(shield=True)

        async def campaign(*, task_status: TaskStatus[None]) -> None:
            try:
                await self._run_in(elector_scope, elector.run, task_status=task_status)
            except LeaderElectionLost:
                self._leader_state = "lost"
                for runnable in self._leader_runnables:
                    if isinstance(runnable, Controller):
                        runnable.abort()  # another replica may be leading soon
                raise

        async with anyio.create_task_group() as group:
            await group.start(campaign)
            self._leader_state = "standby"
            task_status.started()
            try:
                await elector.elected.wait()
                self._leader_state = "leader"
                _log.info("elected leader; starting controllers")
                await self._run_leader_runnables()
                await anyio.sleep_forever()  # keep the lease until shutdown
            finally:
                elector_scope.cancel()

    async def _run_leader_runnables(self) -> None:
        async with anyio.create_task_group() as group:
            for runnable in self._leader_runnables:
                await group.start(runnable.run)

    @staticmethod
    async def _run_in(
        scope: anyio.CancelScope,
        run: Callable[..., Awaitable[None]],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        with scope:
            await run(task_status=task_status)

    # --- built-in checks ---------------------------------------------------------------

    def _check_caches_synced(self) -> None:
        if not (self._caches_synced and self.cache.has_synced()):
            raise CheckFailed("caches not synced")

    def _check_leader_election(self) -> None:
        # A standby is ready: it serves the API and waits to take over.
        if self._leader_state == "lost":
            raise CheckFailed("leader election lost")
        if self._leader_state == "stopped":
            raise CheckFailed("leader election stopped")

    def _check_alive(self) -> None:
        if not self._running:
            raise CheckFailed("manager not running")
