"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm.

Several replicas of an operator may run (the REST layer scales out); only one may
reconcile, or they would fight over every object. The replicas agree through one Lease:
the holder renews it every ``retry_period``; a standby takes it over once it has seen
no change to the Lease for ``lease_duration`` (judged by its *own* clock since the last
observed change, so clock skew between machines does not matter). Writes carry the
Lease's resourceVersion, so two candidates racing for it cannot both win — the loser
gets a 409 and tries again next period.

The leader must stop before a standby can start. A standby's count starts no earlier
than the moment the API server stored the leader's last renewal, which is after the
leader *sent* it; so the leader judges its own validity from the send time (taken on
the monotonic clock before the request): it leads until ``sent + renew_deadline`` of
its last successful renew, and ``renew_deadline < lease_duration`` leaves the margin.
Each renew is cut off at that deadline, so a slow answer cannot extend leadership, and
an answer naming another holder ends it at once. As in client-go the holder first
updates its cached Lease optimistically (one request) and falls back to read-then-write
when that conflicts.

Losing the lease raises :class:`LeaderElectionLost` out of :meth:`LeaderElector.run`,
right at the deadline (``on_stopped_leading`` is called first). controller-runtime exits
the process at that point; in kubeweft the exception cancels the manager's task group,
which stops the controllers and ends the process with an error, the same outcome
reached through structured concurrency. On a clean shutdown (cancellation) the holder
releases the Lease (empty holder, 1 s duration) so a standby takes over at once.
"""

from __future__ import annotations

import logging
import math
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
import anyio.abc
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from kubeweft.runtime import errors, metrics
from kubeweft.runtime.client import Client

__all__ = ["LeaderElectionLost", "LeaderElectionOptions", "LeaderElector", "default_identity"]

log = logging.getLogger(__name__)


class LeaderElectionLost(Exception):
    """The lease could not be renewed within the renew deadline."""


def default_identity() -> str:
    """``hostname_uuid``, as controller-runtime builds it: unique per process."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class LeaderElectionOptions:
    name: str
    namespace: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = True

    def __post_init__(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")


def _whole_seconds(duration: float) -> int:
    # Rounded up: a Lease that claims less than the real duration could let a standby
    # take over while this holder still counts itself within its renew deadline.
    return math.ceil(duration)


def _micro_time(now: datetime) -> datetime:
    # MicroTime must serialise with six fractional digits; msgspec omits a zero fraction.
    return now if now.microsecond else now.replace(microsecond=1)


class _HeldByAnother(Exception):
    """While leading, the Lease was read with another holder: leadership is over."""


class LeaderElector:
    """Campaigns for the Lease; ``elected`` is set while (and once) this process leads.

    ``run`` is a runnable: ``task_status.started()`` right away (a standby is a healthy
    state), then it campaigns, leads, and returns only by cancellation or by raising
    :class:`LeaderElectionLost`. ``on_started_leading`` and ``on_stopped_leading``
    (client-go's callbacks) are called synchronously when leadership begins and ends.
    """

    def __init__(
        self,
        client: Client,
        options: LeaderElectionOptions,
        *,
        on_started_leading: Callable[[], None] | None = None,
        on_stopped_leading: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.elected = anyio.Event()
        self.is_leader = False
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        #: Monotonic time (``anyio.current_time``) the last successful acquire or renew
        #: was sent; this process leads until that plus ``renew_deadline``.
        self.last_renew_sent: float | None = None
        self._observed: tuple[str | None, str | None] | None = None  # (holder, resourceVersion)
        self._observed_at = 0.0
        self._lease: Lease | None = None

    @property
    def identity(self) -> str:
        return self.options.identity

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        metrics.LEADER_ELECTION_MASTER_STATUS.labels(self.options.name).set(0)
        task_status.started()
        try:
            await self._acquire()
            await self._renew_until_lost()
        finally:
            was_leader = self.is_leader
            self._set_leader(False)
            if was_leader and self.options.release_on_cancel:
                with anyio.CancelScope(shield=True), anyio.move_on_after(self.options.retry_period):
                    await self._release()

    async def _acquire(self) -> None:
        opts = self.options
        while True:
            sent = anyio.current_time()
            # An attempt slower than the renew deadline would start a leadership that
            # is already over; cut it off there.
            with anyio.move_on_after(opts.renew_deadline):
                if await self._try_acquire_or_renew():
                    self.last_renew_sent = sent
                    log.info("%s became leader of lease %s", self.identity, opts.name)
                    self._set_leader(True)
                    return
            await anyio.sleep(opts.retry_period)

    async def _renew_until_lost(self) -> None:
        opts = self.options
        assert self.last_renew_sent is not None
        next_send = self.last_renew_sent + opts.retry_period
        reason = "renew deadline passed"
        while True:
            deadline = self.last_renew_sent + opts.renew_deadline
            now = anyio.current_time()
            if now >= deadline:
                break
            # Renew every retry period counted from the previous send, never past the
            # deadline; each attempt is cut off at the deadline.
            await anyio.sleep(max(0.0, min(next_send, deadline) - now))
            sent = anyio.current_time()
            next_send = sent + opts.retry_period
            renewed = False
            with anyio.move_on_after(deadline - sent):
                try:
                    renewed = await self._try_acquire_or_renew()
                except _HeldByAnother as held:
                    reason = str(held)
                    break
            if renewed and anyio.current_time() < deadline:
                self.last_renew_sent = sent
        # Stop leading before anything else can run: the manager cancels its
        # controllers on this exception, before a standby can have acquired.
        self._set_leader(False)
        log.error("%s lost lease %s: %s", self.identity, opts.name, reason)
        raise LeaderElectionLost(f"lost lease {opts.namespace}/{opts.name}: {reason}")

    async def _try_acquire_or_renew(self) -> bool:
        opts = self.options
        now = _micro_time(datetime.now(UTC))
        if self.is_leader and self._lease is not None and await self._renew_optimistically(now):
            return True
        try:
            lease = await self.client.get(Lease, opts.name, opts.namespace)
        except errors.NotFound:
            fresh = Lease(
                metadata=ObjectMeta(name=opts.name, namespace=opts.namespace),
                spec=LeaseSpec(
                    holderIdentity=self.identity,
                    leaseDurationSeconds=_whole_seconds(opts.lease_duration),
                    acquireTime=now,
                    renewTime=now,
                    leaseTransitions=0,
                ),
            )
            try:
                self._lease = await self.client.create(fresh)
            except errors.ApiError as error:
                log.debug("creating lease %s failed: %s", opts.name, error)
                return False
            self._observe(self._lease)
            return True
        except errors.ApiError as error:
            log.warning("reading lease %s failed: %s", opts.name, error)
            return False

        self._observe(lease)
        spec = lease.spec or LeaseSpec()
        holder = spec.holderIdentity or None
        if self.is_leader and holder != self.identity:
            raise _HeldByAnother(f"the Lease is now held by {holder or 'nobody'}")
        if holder not in (None, self.identity):
            duration = spec.leaseDurationSeconds or opts.lease_duration
            if self._observed_at + duration > anyio.current_time():
                return False  # held by another candidate and not yet expired
        taking_over = holder != self.identity
        lease.spec = LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=_whole_seconds(opts.lease_duration),
            acquireTime=now if taking_over else spec.acquireTime,
            renewTime=now,
            leaseTransitions=(spec.leaseTransitions or 0) + (1 if taking_over and holder else 0),
        )
        try:
            self._lease = await self.client.update(lease)  # resourceVersion: 409 if raced
        except errors.ApiError as error:
            log.debug("updating lease %s failed: %s", opts.name, error)
            return False
        self._observe(self._lease)
        return True

    async def _renew_optimistically(self, now: datetime) -> bool:
        """client-go's fast path: update the Lease last written, with its resourceVersion."""
        lease = self._lease
        assert lease is not None
        assert lease.spec is not None
        lease.spec = LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=_whole_seconds(self.options.lease_duration),
            acquireTime=lease.spec.acquireTime,
            renewTime=now,
            leaseTransitions=lease.spec.leaseTransitions,
        )
        try:
            self._lease = await self.client.update(lease)
        except errors.ApiError as error:
            log.debug("optimistic renew of lease %s failed: %s", self.options.name, error)
            self._lease = None
            return False
        self._observe(self._lease)
        return True

    async def _release(self) -> None:
        lease = self._lease
        if lease is None or lease.spec is None or lease.spec.holderIdentity != self.identity:
            return
        now = _micro_time(datetime.now(UTC))
        lease.spec = LeaseSpec(
            holderIdentity=None,
            leaseDurationSeconds=1,
            acquireTime=now,
            renewTime=now,
            leaseTransitions=lease.spec.leaseTransitions,
        )
        try:
            await self.client.update(lease)
            log.info("%s released lease %s", self.identity, self.options.name)
        except errors.ApiError as error:
            log.warning("releasing lease %s failed: %s", self.options.name, error)

    def _observe(self, lease: Lease) -> None:
        holder = lease.spec.holderIdentity if lease.spec else None
        record = (holder, lease.metadata.resourceVersion if lease.metadata else None)
        if record != self._observed:
            self._observed = record
            self._observed_at = anyio.current_time()

    def _set_leader(self, leading: bool) -> None:
        was_leading, self.is_leader = self.is_leader, leading
        metrics.LEADER_ELECTION_MASTER_STATUS.labels(self.options.name).set(1 if leading else 0)
        if leading:
            self.elected.set()
        callback = self.on_started_leading if leading else self.on_stopped_leading
        if leading != was_leading and callback is not None:
            callback()
