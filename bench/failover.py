"""Failover time: leader replica killed (``kill -9``) → first reconcile by the new leader.

Starts a local control plane and a private PostgreSQL (or uses ``--kubeconfig`` /
``--database-url``), creates ``--webapps`` WebApps, and runs two ``kubeweft run``
replicas with leader election on, as ``config/manager`` deploys them. Each round kills
the leader with SIGKILL — no lease release, the worst case — and polls the survivor's
``/metrics`` every 20 ms for two moments: ``leader_election_master_status`` turning 1
(it took the Lease) and ``controller_runtime_reconcile_total`` rising above 0 (its
first reconcile). A fresh replica then joins as the next standby. Prints every round
and the median over ``--rounds`` (default 5).

What to expect: the standby takes a Lease over once it has seen no renewal for the
lease duration (15 s), judged from the last change it observed (it polls every
retry period, 2 s), so failover ≈ 15 s - (time since the last observed renewal) + up
to 2 s, i.e. roughly 13 to 17 s; the reconcile follows within a moment because the new
leader's caches are already synced.

    .venv/bin/python bench/failover.py [--rounds 5] [--webapps 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.process import KubeweftProcess, kubeweft_run, metric, metric_sum

from _environment import environment

LEASE = "kubeweft-bench"
NAMESPACE = "bench-failover"
POLL = 0.02


def leading(process: KubeweftProcess) -> bool:
    return metric(process.probe_url, "leader_election_master_status", {"name": LEASE}) == 1


def reconciles(process: KubeweftProcess) -> float:
    return metric_sum(process.probe_url, "controller_runtime_reconcile_total")


def has_reconciled(process: KubeweftProcess) -> bool:
    return reconciles(process) > 0


def wait_for(
    check: Callable[[KubeweftProcess], bool],
    process: KubeweftProcess,
    what: str,
    deadline: float = 120.0,
) -> None:
    until = time.monotonic() + deadline
    while not check(process):
        if time.monotonic() > until:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(POLL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--webapps", type=int, default=20)
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    parser.add_argument("--database-url", default=None, help="use this PostgreSQL database")
    args = parser.parse_args()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kw-failover-")))
        env = environment(
            stack,
            kubeconfig=args.kubeconfig,
            database_url=args.database_url,
            database_name="failover",
            namespace=NAMESPACE,
        )
        kubeconfig, kubectl, database_url = env.kubeconfig, env.cluster.kubectl, env.database_url
        apps = [
            {
                "apiVersion": "kubeweft.dev/v1",
                "kind": "WebApp",
                "metadata": {"name": f"app-{i:03d}", "namespace": NAMESPACE},
                "spec": {"image": "nginx:1.27", "replicas": 1},
            }
            for i in range(args.webapps)
        ]
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": apps}),
        )

        env = {
            "KUBEWEFT_DATABASE_URL": database_url,
            "KUBEWEFT_LEADER_ELECTION": "true",
            "KUBEWEFT_LEADER_ELECTION_NAMESPACE": NAMESPACE,
            "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
            "KUBEWEFT_INSTALL_CRDS": "false",
            "KUBEWEFT_LOG_LEVEL": "WARNING",
        }
        names = iter(f"replica-{i}" for i in range(args.rounds + 2))

        def start() -> KubeweftProcess:
            return stack.enter_context(kubeweft_run(kubeconfig, workdir, env=env, name=next(names)))

        replicas = [start()]
        wait_for(leading, replicas[0], "the first replica to lead")
        replicas.append(start())
        print(
            f"cpus: {os.cpu_count()} (shared with other work); {args.webapps} WebApps; "
            "lease duration 15 s, renew deadline 10 s, retry period 2 s"
        )
        elected: list[float] = []
        first: list[float] = []
        for round_ in range(1, args.rounds + 1):
            leader, standby = replicas
            wait_for(has_reconciled, leader, "the leader to reconcile")
            assert not leading(standby), "the standby leads"
            time.sleep(3.0)  # a few renewals, so the kill lands at a random point of a period
            leader.kill()
            killed = time.monotonic()
            wait_for(leading, standby, "the standby to take the Lease")
            elected.append(time.monotonic() - killed)
            wait_for(has_reconciled, standby, "the new leader's first reconcile")
            first.append(time.monotonic() - killed)
            print(
                f"round {round_}: Lease taken {elected[-1]:.2f} s, first reconcile "
                f"{first[-1]:.2f} s after kill -9 of the leader"
            )
            replicas = [standby, start()]
        print(
            f"failover over {args.rounds} rounds: median {statistics.median(first):.2f} s to the "
            f"first reconcile by the new leader (min {min(first):.2f}, max {max(first):.2f}); "
            f"median {statistics.median(elected):.2f} s to take the Lease"
        )


if __name__ == "__main__":
    main()
