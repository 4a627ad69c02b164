"""Leader overlap behind a slow API server: how long did two replicas both lead?

Two electors on one Lease of the local control plane (or ``--kubeconfig``): A reaches
the API server through a proxy that delays every answer by ``--delay`` seconds
(default 5), B directly. Each round A leads, renews ``--slow-renewals`` times through
the slow answers (their writes reach the server at once, so B keeps waiting), then
gets no answers at all; B takes the Lease over. Both electors run in this process, so
A's ``on_stopped_leading`` and B's ``on_started_leading`` are read from one monotonic
clock. Prints, per round, the overlap (the time both led: must be 0) and the margin
(from A stopping to B starting), with controller-runtime's default timings unless
``--lease-duration`` / ``--renew-deadline`` / ``--retry-period`` say otherwise.

    .venv/bin/python bench/leader_overlap.py [--rounds 3] [--delay 5]

What to expect: A stops at its last successful renewal's *send* time + renew deadline;
B cannot start before the server stored that renewal + the lease duration, so the
margin is at least lease duration - renew deadline (5 s by default).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.leader_handover import handover_behind_slow_server

from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.leaderelection import LeaderElectionOptions

NAMESPACE = "bench-leader-overlap"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=5.0, help="seconds answers are held")
    parser.add_argument("--slow-renewals", type=int, default=1)
    parser.add_argument("--lease-duration", type=float, default=15.0)
    parser.add_argument("--renew-deadline", type=float, default=10.0)
    parser.add_argument("--retry-period", type=float, default=2.0)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    with ExitStack() as stack:
        cluster: ClusterAccess
        if args.kubeconfig is None:
            cluster = stack.enter_context(LocalCluster(binaries=find_binaries(), nodes=1))
        else:
            cluster = ExternalCluster(args.kubeconfig)
        cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        print(
            f"delay {args.delay:g} s, lease {args.lease_duration:g} s, renew deadline "
            f"{args.renew_deadline:g} s, retry {args.retry_period:g} s, "
            f"{args.slow_renewals} slow renewal(s) before answers stop"
        )
        print("round  slow renewals  overlap ms  margin ms")
        overlaps = []
        for round_ in range(1, args.rounds + 1):
            options = LeaderElectionOptions(
                name=f"overlap-{round_}",
                namespace=NAMESPACE,
                lease_duration=args.lease_duration,
                renew_deadline=args.renew_deadline,
                retry_period=args.retry_period,
            )
            handover = anyio.run(
                lambda options=options: handover_behind_slow_server(
                    cluster.server,
                    cluster.kubeconfig_path,
                    workdir,
                    options,
                    delay=args.delay,
                    slow_renewals=args.slow_renewals,
                )
            )
            overlaps.append(handover.overlap)
            print(
                f"{round_:>5}  {handover.slow_renewals:>13}  {handover.overlap * 1000:>10.1f}"
                f"  {handover.margin * 1000:>9.1f}"
            )
        worst, median = max(overlaps) * 1000, statistics.median(overlaps) * 1000
        print(f"max overlap: {worst:.1f} ms (median {median:.1f} ms)")


if __name__ == "__main__":
    main()
