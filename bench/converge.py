"""Converge: N WebApps Ready against the cluster's own limit, measured in one run.

Starts a local control plane (5 kwok nodes, a /16 service range: every WebApp owns a
Service) or uses ``--kubeconfig``, spawns one ``kubeweft run`` (the shipped WebApp
application, SQLite in a temporary directory, no leader election) and, for each N in
``--counts``, runs two phases in fresh namespaces, one after the other:

* **raw** — the same N Deployments and Services a WebApp asks for, created directly by
  this script (32 requests in flight), timed until every Deployment reports
  ``readyReplicas == replicas``: what the cluster itself takes (scheduler, Deployment
  and ReplicaSet controllers, kwok);
* **kubeweft** — N WebApps created the same way, timed until every WebApp reports
  ``readyReplicas == replicas`` with a Ready condition for its current generation.

Each namespace is deleted (and waited for) after its phase: 5 kwok nodes hold 1,250
pods. Around each phase the API server's ``apiserver_request_total`` is read, so the
difference between the two phases is what kubeweft writes on top of Kubernetes' own
controllers — per WebApp, by resource and verb — and its 409s are counted (leases are
left out: their renewals follow wall time, not N). Prints one line per phase and a
table of ratios.

    .venv/bin/python bench/converge.py [--counts 100,300,1000] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from lightkube.models import meta_v1
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Service, ServiceAccount

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.process import KubeweftProcess, metric_sum, spawn

from _environment import Requests, api_requests
from kubeweft.controllerutil import MANAGED_BY_LABEL
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.controllers import webapp_desired
from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import errors
from kubeweft.runtime.client import Client

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
POLL_SECONDS = 0.25


@dataclass
class Phase:
    name: str
    n: int
    seconds: float
    creates: float
    requests: Requests
    #: CPU seconds per process during the phase
    cpu: dict[str, float]

    def writes(self) -> Counter[str]:
        """Write requests by ``VERB resource`` (any code)."""
        out: Counter[str] = Counter()
        for (verb, resource, _), count in self.requests.items():
            out[f"{verb} {resource}"] += count
        return out

    def conflicts(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (verb, resource, code), count in self.requests.items():
            if code == "409":
                out[f"{verb} {resource}"] += count
        return out


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User+system CPU seconds each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def webapp_body(namespace: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": f"app-{i:04d}", "namespace": namespace},
        "spec": {"image": "nginx:1.27", "replicas": 1},
    }


def raw_children(namespace: str, i: int) -> tuple[Deployment, Service]:
    """What the WebApp controller would create for ``webapp_body(namespace, i)``, as a
    client's own objects (no owner, no managed-by label)."""
    webapp = WebApp.model_validate(webapp_body(namespace, i))
    deployment = webapp_desired.desired_deployment(webapp, {})
    service = webapp_desired.desired_service(webapp)
    for obj in (deployment, service):
        assert obj.metadata is not None
        assert obj.metadata.labels is not None
        obj.metadata.labels.pop(MANAGED_BY_LABEL, None)
    return deployment, service


async def in_parallel(n: int, one: Callable[[int], Awaitable[None]], parallel: int) -> None:
    limiter = anyio.CapacityLimiter(parallel)

    async def limited(i: int) -> None:
        async with limiter:
            await one(i)

    async with anyio.create_task_group() as group:
        for i in range(n):
            group.start_soon(limited, i)


def ready_deployments(items: Iterable[Deployment]) -> int:
    return sum(
        1
        for d in items
        if d.spec is not None
        and d.status is not None
        and (d.status.readyReplicas or 0) == d.spec.replicas
        and (d.status.observedGeneration or 0) >= (d.metadata.generation or 0 if d.metadata else 0)
    )


def ready_webapps(items: Iterable[WebApp]) -> int:
    return sum(
        1
        for w in items
        if w.status.ready_replicas == w.spec.replicas
        and w.status.observed_generation == w.metadata.generation
        and any(c.type == "Ready" and c.status.value == "True" for c in w.status.conditions)
    )


async def run_phase(
    client: Client,
    cluster: ClusterAccess,
    name: str,
    n: int,
    args: argparse.Namespace,
    pids: dict[str, int],
) -> Phase:
    namespace = f"{name}-{n}-{int(time.time())}"
    await client.create(Namespace(metadata=meta_v1.ObjectMeta(name=namespace)))
    while True:  # pods are admitted once the namespace's default ServiceAccount exists
        try:
            await client.get(ServiceAccount, "default", namespace)
            break
        except errors.NotFound:
            await anyio.sleep(0.05)
    before = api_requests(cluster)
    cpu_before = cpu_seconds(pids)
    started = time.monotonic()

    if name == "raw":

        async def create(i: int) -> None:
            deployment, service = raw_children(namespace, i)
            await client.create(deployment)
            await client.create(service)

        async def count() -> int:
            return ready_deployments((await client.list_all(Deployment, namespace)).items)
    else:

        async def create(i: int) -> None:
            await client.create(WebApp.model_validate(webapp_body(namespace, i)))

        async def count() -> int:
            return ready_webapps((await client.list_all(WebApp, namespace)).items)

    await in_parallel(n, create, args.parallel)
    creates = time.monotonic() - started
    while (ready := await count()) < n:
        if time.monotonic() - started > args.deadline:
            raise TimeoutError(f"{name} N={n}: {ready}/{n} ready after {args.deadline} s")
        await anyio.sleep(POLL_SECONDS)
    seconds = time.monotonic() - started
    cpu = cpu_seconds(pids)
    cpu = {name: cpu[name] - cpu_before[name] for name in cpu}
    # Writes that trail readiness (the last status patches, Events) belong to the phase.
    await anyio.sleep(args.settle)
    requests = api_requests(cluster)
    requests.subtract(before)
    phase = Phase(name, n, seconds, creates, +requests, cpu)
    await client.delete(Namespace, namespace)
    while True:
        try:
            await client.get(Namespace, namespace)
        except errors.NotFound:
            break
        await anyio.sleep(0.5)
    return phase


def cpu_line(phase: Phase) -> str:
    return "CPU s: " + ", ".join(f"{name} {value:.1f}" for name, value in phase.cpu.items())


def report(raw: Phase, kw: Phase, process: KubeweftProcess, reconciles: float) -> str:
    n = kw.n
    extra = kw.writes()
    extra.subtract(raw.writes())
    per_webapp = sum(extra.values()) / n
    detail = ", ".join(
        f"{key} {count / n:+.2f}" for key, count in sorted(extra.items()) if abs(count) >= n / 20
    )
    conflicts = kw.conflicts()
    status_409 = conflicts.get("PATCH webapps/status", 0) + conflicts.get("PUT webapps/status", 0)
    return (
        f"N={n}: raw {raw.seconds:.1f} s (creates {raw.creates:.1f} s), kubeweft "
        f"{kw.seconds:.1f} s (creates {kw.creates:.1f} s): ratio {kw.seconds / raw.seconds:.2f}\n"
        f"  writes per WebApp beyond the raw phase: {per_webapp:.2f} "
        f"(incl. the WebApp create itself) — {detail}\n"
        f"  409s in the kubeweft phase: {sum(conflicts.values())} "
        f"(on webapps/status: {status_409}) {dict(conflicts)}; reconciles {reconciles:.0f} "
        f"({reconciles / n:.2f} per WebApp)"
    )


async def bench(cluster: ClusterAccess, process: KubeweftProcess, args: argparse.Namespace) -> None:
    rows = []
    pids = {"kubeweft": process.pid}
    if isinstance(cluster, LocalCluster):
        for name, component in cluster.components.items():
            if component.pid is not None:
                pids[name] = component.pid
    async with Client.from_kubeconfig(cluster.kubeconfig_path) as client:
        for n in [int(c) for c in args.counts.split(",") if c]:
            raw = await run_phase(client, cluster, "raw", n, args, pids)
            print(f"raw N={n}: {raw.seconds:.1f} s; {cpu_line(raw)}", flush=True)
            before = metric_sum(process.probe_url, "controller_runtime_reconcile_total")
            kw = await run_phase(client, cluster, "kubeweft", n, args, pids)
            reconciles = (
                metric_sum(process.probe_url, "controller_runtime_reconcile_total") - before
            )
            print(report(raw, kw, process, reconciles), flush=True)
            print(f"  {cpu_line(kw)}", flush=True)
            rows.append((n, raw.seconds, kw.seconds))
    print("\n    N   raw s  kubeweft s  ratio")
    for n, raw_s, kw_s in rows:
        print(f"{n:5d}  {raw_s:6.1f}  {kw_s:10.1f}  {kw_s / raw_s:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="100,300,1000", help="comma-separated N")
    parser.add_argument("--nodes", type=int, default=5, help="kwok nodes (250 pods each)")
    parser.add_argument("--workers", type=int, default=None, help="kubeweft run --workers")
    parser.add_argument("--parallel", type=int, default=32, help="creates in flight")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before counting")
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--service-cidr", default="10.0.0.0/16", help="local cluster only")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    args = parser.parse_args()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kw-converge-")))
        cluster: ClusterAccess
        if args.kubeconfig is None:
            started = time.monotonic()
            cluster = stack.enter_context(
                LocalCluster(
                    binaries=find_binaries(),
                    nodes=args.nodes,
                    apiserver_args=[f"--service-cluster-ip-range={args.service_cidr}"],
                )
            )
            print(f"local control plane ready in {time.monotonic() - started:.1f} s")
        else:
            cluster = ExternalCluster(args.kubeconfig)
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        cluster.kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
        env = {
            "KUBEWEFT_LEADER_ELECTION": "false",
            "KUBEWEFT_INSTALL_CRDS": "false",
            "KUBEWEFT_LOG_LEVEL": "WARNING",
        }
        if args.workers is not None:
            env["KUBEWEFT_WORKERS"] = str(args.workers)
        process = spawn(cluster.kubeconfig_path, workdir, env=env, name="converge")
        stack.callback(process.stop)
        process.wait_ready()
        print(f"cpus: {os.cpu_count()} (shared); kubeweft run pid {process.pid}", flush=True)
        anyio.run(bench, cluster, process, args)


if __name__ == "__main__":
    main()
