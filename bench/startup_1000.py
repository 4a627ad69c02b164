"""Start-up time of ``kubeweft run`` with 1,000 WebApps already in the cluster.

A replica that restarts (a rollout, a node drain, a crash) must list and cache every
WebApp, Deployment and Service before it serves or reconciles; this measures how long
that takes at 1,000 WebApps. Starts a local control plane (5 kwok nodes, a /16 service
range: every WebApp owns a Service) and a private PostgreSQL (or uses ``--kubeconfig``
/ ``--database-url``), creates ``--webapps`` WebApps with the admin client *before*
any operator runs, then:

1. cold start — spawn ``kubeweft run`` (leader election on, as deployed) against the
   unconverged WebApps; seconds until ``/readyz`` is 200, until every WebApp has its
   Deployment (reconciled once), until ``status.observedGeneration ==
   metadata.generation`` on all (the status is written with the Deployment's state),
   and until every WebApp is Ready;
2. warm restart — SIGTERM, then spawn again with everything converged; seconds until
   ``/readyz`` is 200 and until the new process has reconciled every WebApp once
   (its ``controller_runtime_reconcile_total`` reaches N), and its RSS.

    .venv/bin/python bench/startup_1000.py [--webapps 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import anyio
from lightkube.resources.apps_v1 import Deployment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.process import KubeweftProcess, metric_sum, spawn

from _environment import environment
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.runtime.client import Client

NAMESPACE = "bench-startup"
LEASE = "kubeweft-bench-startup"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def create_webapps(kubeconfig: Path, n: int, parallel: int = 32) -> None:
    limiter = anyio.CapacityLimiter(parallel)
    async with Client.from_kubeconfig(kubeconfig) as client:

        async def one(i: int) -> None:
            async with limiter:
                body = {
                    "metadata": {"name": f"app-{i:04d}", "namespace": NAMESPACE},
                    "spec": {"image": "nginx:1.27", "replicas": 1},
                }
                await client.create(WebApp.model_validate(body))

        async with anyio.create_task_group() as group:
            for i in range(n):
                group.start_soon(one, i)


async def progress(kubeconfig: Path) -> tuple[int, int, int, int]:
    """(Deployments, WebApps, reconciled for their current generation, Ready)."""
    async with Client.from_kubeconfig(kubeconfig) as client:
        deployments = len((await client.list_all(Deployment, NAMESPACE)).items)
        items = (await client.list_all(WebApp, NAMESPACE)).items
    observed = ready = 0
    for obj in items:
        if obj.status.observed_generation == obj.metadata.generation:
            observed += 1
            if any(c.type == "Ready" and c.status.value == "True" for c in obj.status.conditions):
                ready += 1
    return deployments, len(items), observed, ready


def reconciled_total(process: KubeweftProcess) -> float:
    return metric_sum(process.probe_url, "controller_runtime_reconcile_total")


def cold_start(
    stack: ExitStack, kubeconfig: Path, workdir: Path, env: dict[str, str], n: int, deadline: float
) -> KubeweftProcess:
    started = time.monotonic()
    process = spawn(kubeconfig, workdir, env=env, name="cold")
    stack.callback(process.stop)
    process.wait_ready(deadline)
    ready_at = time.monotonic() - started
    print(f"cold start: /readyz 200 after {ready_at:.1f} s (RSS {rss_mib(process.pid):.0f} MiB)")
    observed_at: float | None = None
    created_at: float | None = None
    while True:
        deployments, total, observed, ready = anyio.run(progress, kubeconfig)
        elapsed = time.monotonic() - started
        if created_at is None and deployments >= n:
            created_at = elapsed
            print(f"cold start: all {n} Deployments created after {elapsed:.1f} s")
        if observed_at is None and observed >= n:
            observed_at = elapsed
            print(f"cold start: status.observedGeneration current on all {n} after {elapsed:.1f} s")
        if ready >= n:
            print(f"cold start: all {n} WebApps Ready after {elapsed:.1f} s")
            return process
        if elapsed > deadline:
            raise TimeoutError(f"after {deadline} s: {observed}/{total} reconciled, {ready} Ready")
        time.sleep(1.0)


def warm_restart(
    stack: ExitStack, kubeconfig: Path, workdir: Path, env: dict[str, str], n: int, deadline: float
) -> KubeweftProcess:
    started = time.monotonic()
    process = spawn(kubeconfig, workdir, env=env, name="warm")
    stack.callback(process.stop)
    process.wait_ready(deadline)
    ready_at = time.monotonic() - started
    print(f"warm restart: /readyz 200 after {ready_at:.1f} s")
    while reconciled_total(process) < n:
        if time.monotonic() - started > deadline:
            raise TimeoutError(f"warm restart: fewer than {n} reconciles after {deadline} s")
        time.sleep(0.1)
    print(
        f"warm restart: {n} reconciles done {time.monotonic() - started:.1f} s after spawn "
        f"(RSS {rss_mib(process.pid):.0f} MiB)"
    )
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webapps", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=5, help="kwok nodes (250 pods each)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    parser.add_argument("--database-url", default=None, help="use this database")
    args = parser.parse_args()
    n = args.webapps

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kw-startup-")))
        env = environment(
            stack,
            kubeconfig=args.kubeconfig,
            database_url=args.database_url,
            database_name="startup",
            namespace=NAMESPACE,
            nodes=args.nodes,
        )
        kubeconfig, database_url = env.kubeconfig, env.database_url
        started = time.monotonic()
        anyio.run(create_webapps, kubeconfig, n)
        print(
            f"cpus: {os.cpu_count()} (shared with other engineers' tests); created {n} "
            f"WebApps in {time.monotonic() - started:.1f} s before any operator ran"
        )
        env = {
            "KUBEWEFT_DATABASE_URL": database_url,
            "KUBEWEFT_LEADER_ELECTION": "true",
            "KUBEWEFT_LEADER_ELECTION_NAMESPACE": NAMESPACE,
            "KUBEWEFT_LEADER_ELECTION_ID": LEASE,
            "KUBEWEFT_INSTALL_CRDS": "false",
            "KUBEWEFT_LOG_LEVEL": "WARNING",
            "KUBEWEFT_WORKERS": str(args.workers),
        }
        cold = cold_start(stack, kubeconfig, workdir, env, n, args.deadline)
        stopping = time.monotonic()
        code = cold.stop(60.0)
        print(f"SIGTERM: exit {code} after {time.monotonic() - stopping:.1f} s (lease released)")
        warm = warm_restart(stack, kubeconfig, workdir, env, n, args.deadline)
        warm.stop(60.0)


if __name__ == "__main__":
    main()
