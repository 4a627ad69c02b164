"""A leader behind a slow API server hands over to a standby: when did each one lead?

The scenario of the leader-overlap test and of ``bench/leader_overlap.py``. Elector A
reaches the API server through a :class:`DelayingProxy`, elector B directly; both run
in this process, so their moments are read from one monotonic clock. Once A leads and
B campaigns, the proxy delays every answer by ``delay`` seconds while A renews
``slow_renewals`` times (each renewal's write reaches the server at once, so B keeps
waiting), then holds every answer, as an unreachable server would. A loses the Lease
and B takes it over; the result says when A stopped leading and when B started.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio

from kubeweft.runtime.client import Client
from kubeweft.runtime.leaderelection import LeaderElectionOptions, LeaderElector
from tests.support.delaying_proxy import DelayingProxy, kubeconfig_via

__all__ = ["Handover", "handover_behind_slow_server"]

SCENARIO_TIMEOUT = 120.0


@dataclass(frozen=True)
class Handover:
    """Monotonic moments (``anyio.current_time``) of one hand-over."""

    old_stopped: float  # A's on_stopped_leading
    new_started: float  # B's on_started_leading
    slow_renewals: int  # A's successful renewals while its answers were delayed

    @property
    def overlap(self) -> float:
        """Seconds both led (0 when A stopped before B started)."""
        return max(0.0, self.old_stopped - self.new_started)

    @property
    def margin(self) -> float:
        """Seconds between A stopping and B starting (negative: an overlap)."""
        return self.new_started - self.old_stopped


async def handover_behind_slow_server(
    server: str,
    kubeconfig: Path,
    workdir: Path,
    options: LeaderElectionOptions,
    *,
    delay: float,
    slow_renewals: int,
) -> Handover:
    """Run the scenario once on the Lease ``options`` names (identities ``a``, ``b``)."""
    url = urlsplit(server)
    proxy = DelayingProxy(url.hostname or "127.0.0.1", url.port or 443)
    moments: dict[str, float] = {}
    renewals_sent: list[float] = []
    a_stopped = anyio.Event()

    def at(what: str) -> None:
        moments.setdefault(what, anyio.current_time())
        if what == "a stopped":
            a_stopped.set()

    with anyio.fail_after(SCENARIO_TIMEOUT):
        async with anyio.create_task_group() as tg:
            await tg.start(proxy.run)
            slow_config = kubeconfig_via(kubeconfig, proxy, workdir / "via-proxy.kubeconfig")
            async with (
                Client.from_kubeconfig(slow_config) as client_a,
                Client.from_kubeconfig(kubeconfig) as client_b,
            ):
                a = LeaderElector(
                    client_a,
                    _with_identity(options, "a"),
                    on_stopped_leading=lambda: at("a stopped"),
                )
                b = LeaderElector(
                    client_b,
                    _with_identity(options, "b"),
                    on_started_leading=lambda: at("b started"),
                )
                scopes = [anyio.CancelScope(), anyio.CancelScope()]
                lost: list[BaseException] = []

                async def run_a() -> None:
                    with scopes[0]:
                        try:
                            await a.run()
                        except Exception as error:  # LeaderElectionLost: expected
                            lost.append(error)

                async def run_b() -> None:
                    with scopes[1]:
                        await b.run()

                tg.start_soon(run_a)
                await a.elected.wait()
                tg.start_soon(run_b)
                proxy.delay = delay
                while len(renewals_sent) < slow_renewals and a.is_leader:
                    before = a.last_renew_sent
                    # A's renewals have no callback: poll its state (set by its own task).
                    while a.last_renew_sent == before and a.is_leader:  # noqa: ASYNC110
                        await anyio.sleep(0.01)
                    if a.is_leader:
                        renewals_sent.append(a.last_renew_sent or 0.0)
                proxy.delay = math.inf
                await b.elected.wait()
                await a_stopped.wait()
                for scope in scopes:
                    scope.cancel()
            tg.cancel_scope.cancel()
    return Handover(moments["a stopped"], moments["b started"], len(renewals_sent))


def _with_identity(options: LeaderElectionOptions, identity: str) -> LeaderElectionOptions:
    return LeaderElectionOptions(
        name=options.name,
        namespace=options.namespace,
        identity=identity,
        lease_duration=options.lease_duration,
        renew_deadline=options.renew_deadline,
        retry_period=options.retry_period,
        release_on_cancel=False,
    )
