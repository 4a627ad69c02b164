"""How fast the WebApp controller brings WebApps to Ready, and what it costs.

Starts a local control plane (or uses ``--kubeconfig``), installs the WebApp CRD, runs
a Manager with the WebApp controller in this process (cluster-wide cache, no
database: records go to a null sink), and prints:

* for each N in ``--counts``: seconds from the first create until all N WebApps
  (1 replica each, in a fresh namespace) report Ready for their current generation;
* reconciles per second at steady churn: images of the first batch are patched in a
  loop for ``--churn`` seconds; the controller's ``controller_runtime_reconcile_total``
  over that window, and the seconds to converge once the churn stops;
* the operator's RSS once ``--cached`` WebApps (and their Deployments and Services)
  are in its cache.

    .venv/bin/python bench/webapps_ready.py [--counts 100,500] [--churn 30] [--cached 1000]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
from lightkube.resources.apps_v1 import Deployment

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import setup_webapp_controller
from kubeweft.localcluster import LocalCluster, find_binaries
from kubeweft.logging import configure_logging
from kubeweft.runtime import metrics
from kubeweft.runtime.cache import Cache
from kubeweft.runtime.client import Client
from kubeweft.runtime.manager import Manager, ManagerOptions

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reconciles() -> float:
    total = 0.0
    for result in ("success", "error", "requeue", "requeue_after"):
        total += (
            metrics.REGISTRY.get_sample_value(
                "controller_runtime_reconcile_total", {"controller": "webapp", "result": result}
            )
            or 0.0
        )
    return total


def is_ready(obj: WebApp) -> bool:
    conditions = {c.type: c.status.value for c in obj.status.conditions}
    return (
        obj.status.observed_generation == obj.metadata.generation
        and conditions.get("Ready") == "True"
    )


async def count_ready(client: Client, namespace: str) -> tuple[int, int]:
    items = (await client.list_all(WebApp, namespace)).items
    return sum(1 for obj in items if is_ready(obj)), len(items)


async def wait_all_ready(client: Client, namespace: str, n: int, deadline: float) -> float:
    started = time.monotonic()
    while True:
        ready, total = await count_ready(client, namespace)
        if ready == n and total == n:
            return time.monotonic() - started
        if time.monotonic() - started > deadline:
            raise TimeoutError(f"{ready}/{n} ready after {deadline} s in {namespace}")
        await anyio.sleep(0.5)


async def wait_all_deployments(
    client: Client, namespace: str, n: int, deadline: float, out: list[float]
) -> None:
    """Append the seconds until the controller has created all ``n`` Deployments (its own
    share of the work; ReplicaSets, Pods and readiness are kube-controller-manager's)."""
    started = time.monotonic()
    while len((await client.list_all(Deployment, namespace)).items) < n:
        if time.monotonic() - started > deadline:
            raise TimeoutError(f"fewer than {n} Deployments after {deadline} s in {namespace}")
        await anyio.sleep(0.25)
    out.append(time.monotonic() - started)


async def create_namespace(client: Client, kubectl: Any, name: str) -> None:
    kubectl("create", "namespace", name)
    # Pods are admitted only once the default ServiceAccount exists.
    for _ in range(300):
        if kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0:
            return
        await anyio.sleep(0.1)
    raise TimeoutError(f"no default ServiceAccount in {name}")


async def create_webapps(client: Client, namespace: str, n: int, *, parallel: int = 32) -> None:
    limiter = anyio.CapacityLimiter(parallel)

    async def one(i: int) -> None:
        async with limiter:
            body = {
                "metadata": {"name": f"app-{i:04d}", "namespace": namespace},
                "spec": {"image": "nginx:1", "replicas": 1},
            }
            await client.create(WebApp.model_validate(body))

    async with anyio.create_task_group() as group:
        for i in range(n):
            group.start_soon(one, i)


async def churn(client: Client, namespace: str, n: int, seconds: float) -> tuple[int, float]:
    """Patch images round-robin for ``seconds``; (patches sent, reconciles per second)."""
    names = [f"app-{i:04d}" for i in range(n)]
    counter = itertools.count()
    stop_at = time.monotonic() + seconds
    before = reconciles()
    started = time.monotonic()

    async def patcher() -> None:
        while time.monotonic() < stop_at:
            i = next(counter)
            name = names[i % n]
            image = f"nginx:{2 + i // n}"
            await client.patch(WebApp, name, {"spec": {"image": image}}, namespace=namespace)

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(patcher)
    elapsed = time.monotonic() - started
    return next(counter), (reconciles() - before) / elapsed


async def bench(args: argparse.Namespace, kubeconfig: Path, kubectl: Any) -> None:
    counts = [int(c) for c in args.counts.split(",") if c]
    async with Client.from_kubeconfig(kubeconfig) as client:
        baseline = rss_mib()
        manager = Manager(client, Cache(client), ManagerOptions())
        setup_webapp_controller(manager, workers=args.workers, requeue_after=30.0)
        async with anyio.create_task_group() as group:
            await group.start(manager.run)
            print(
                f"operator RSS with an empty cache: {rss_mib():.0f} MiB "
                f"(before the manager: {baseline:.0f} MiB)"
            )
            total = 0
            first_ns = ""
            for n in counts:
                namespace = f"bench-{n}-{int(time.time())}"
                first_ns = first_ns or namespace
                await create_namespace(client, kubectl, namespace)
                started = time.monotonic()
                deployments: list[float] = []
                async with anyio.create_task_group() as phase:
                    phase.start_soon(
                        wait_all_deployments, client, namespace, n, args.deadline, deployments
                    )
                    await create_webapps(client, namespace, n)
                    created = time.monotonic() - started
                    await wait_all_ready(client, namespace, n, args.deadline)
                total += n
                print(
                    f"N={n}: all Ready {time.monotonic() - started:.1f} s after the first "
                    f"create (creates took {created:.1f} s; all {n} Deployments existed after "
                    f"{deployments[0]:.1f} s), {args.workers} workers"
                )
            if args.churn > 0 and counts:
                n = counts[0]
                patches, rate = await churn(client, first_ns, n, args.churn)
                started = time.monotonic()
                settle = await wait_all_ready(client, first_ns, n, args.deadline)
                print(
                    f"churn on {n} WebApps for {args.churn:.0f} s: {patches} image patches "
                    f"({patches / args.churn:.1f}/s), {rate:.1f} reconciles/s; "
                    f"all Ready again {settle:.1f} s after the churn stopped"
                )
            if args.cached > total:
                extra = args.cached - total
                namespace = f"bench-cache-{int(time.time())}"
                await create_namespace(client, kubectl, namespace)
                await create_webapps(client, namespace, extra)
                await wait_all_ready(client, namespace, extra, args.deadline)
                total += extra
            await anyio.sleep(args.settle)
            gc.collect()
            webapps = len(manager.cache.informer_for(WebApp).list(None, None))
            print(
                f"operator RSS with {webapps} WebApps (and their Deployments and Services) "
                f"cached: {rss_mib():.0f} MiB"
            )
            group.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="100,500", help="comma-separated batch sizes")
    parser.add_argument("--churn", type=float, default=30.0, help="seconds of image churn")
    parser.add_argument("--cached", type=int, default=1000, help="WebApps cached for RSS")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--nodes", type=int, default=5, help="kwok nodes (250 pods each)")
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before RSS")
    parser.add_argument("--service-cidr", default="10.0.0.0/16", help="local cluster only")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    args = parser.parse_args()
    configure_logging("WARNING", "console")

    with ExitStack() as stack:
        if args.kubeconfig is not None:
            kubeconfig: Path = args.kubeconfig

            def kubectl(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["kubectl", f"--kubeconfig={kubeconfig}", *argv],
                    capture_output=True,
                    text=True,
                    check=check,
                )
        else:
            started = time.monotonic()
            cluster = stack.enter_context(
                LocalCluster(
                    binaries=find_binaries(),
                    nodes=args.nodes,
                    # The default /24 holds ~250 Services; every WebApp owns one.
                    apiserver_args=[f"--service-cluster-ip-range={args.service_cidr}"],
                )
            )
            print(
                f"local control plane ready in {time.monotonic() - started:.1f} s "
                f"({args.nodes} kwok nodes)"
            )
            kubeconfig = cluster.kubeconfig_path
            kubectl = cluster.kubectl
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
        print(f"cpus: {os.cpu_count()}")
        anyio.run(bench, args, kubeconfig, kubectl)


if __name__ == "__main__":
    main()
