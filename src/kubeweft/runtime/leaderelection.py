"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm.

Several replicas of an operator may run (the REST layer scales out); only one may
reconcile, or they would fight over every object. The replicas agree through one Lease:
the holder renews it every ``retry_period``; a standby takes it over once it has seen
no change to the Lease for ``lease_duration`` (judged by its *own* clock since the last
observed change, so clock skew between machines does not matter). Writes carry the
Lease's resourceVersion, so two candidates racing for it cannot both win — the loser
gets a 409 and tries again next period.

Losing the lease (no successful renew within ``renew_deadline``) raises
:class:`LeaderElectionLost` out of :meth:`LeaderElector.run`. controller-runtime exits
the process at that point; in kubeweft the exception cancels the manager's task group,
which stops the controllers and ends the process with an error, the same outcome
reached through structured concurrency. On a clean shutdown (cancellation) the holder
releases the Lease (empty holder, 1 s duration) so a standby takes over at once.
"""

from __future__ import annotations

import logging
import socket
import uuid
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


def _micro_time(now: datetime) -> datetime:
    # MicroTime must serialise with six fractional digits; msgspec omits a zero fraction.
    return now if now.microsecond else now.replace(microsecond=1)


class LeaderElector:
    """Campaigns for the Lease; ``elected`` is set while (and once) this process leads.

    ``run`` is a runnable: ``task_status.started()`` right away (a standby is a healthy
    state), then it campaigns, leads, and returns only by cancellation or by raising
    :class:`LeaderElectionLost`.
    """

    def __init__(self, client: Client, options: LeaderElectionOptions) -> None:
        self.client = client
        self.options = options
        self.elected = anyio.Event()
        self.is_leader = False
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
        while True:
            if await self._try_acquire_or_renew():
                log.info("%s became leader of lease %s", self.identity, self.options.name)
                self._set_leader(True)
                return
            await anyio.sleep(self.options.retry_period)

    async def _renew_until_lost(self) -> None:
        opts = self.options
        last_renew = anyio.current_time()
        while True:
            await anyio.sleep(opts.retry_period)
            remaining = last_renew + opts.renew_deadline - anyio.current_time()
            renewed = False
            with anyio.move_on_after(max(remaining, 0.0)):
                renewed = await self._try_acquire_or_renew()
            if renewed:
                last_renew = anyio.current_time()
            elif anyio.current_time() - last_renew >= opts.renew_deadline:
                log.error("%s lost lease %s", self.identity, opts.name)
                raise LeaderElectionLost(f"failed to renew lease {opts.namespace}/{opts.name}")

    async def _try_acquire_or_renew(self) -> bool:
        opts = self.options
        now = _micro_time(datetime.now(UTC))
        try:
            lease = await self.client.get(Lease, opts.name, opts.namespace)
        except errors.NotFound:
            fresh = Lease(
                metadata=ObjectMeta(name=opts.name, namespace=opts.namespace),
                spec=LeaseSpec(
                    holderIdentity=self.identity,
                    leaseDurationSeconds=round(opts.lease_duration),
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
        if holder not in (None, self.identity):
            duration = spec.leaseDurationSeconds or opts.lease_duration
            if self._observed_at + duration > anyio.current_time():
                return False  # held by another candidate and not yet expired
        taking_over = holder != self.identity
        lease.spec = LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=round(opts.lease_duration),
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
        self.is_leader = leading
        metrics.LEADER_ELECTION_MASTER_STATUS.labels(self.options.name).set(1 if leading else 0)
        if leading:
            self.elected.set()
