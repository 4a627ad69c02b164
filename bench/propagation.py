"""Propagation: a WebApp spec change over REST until its Deployment is updated, against
the API server's own watch latency for a Deployment write, in one run.

Starts a local control plane (or uses ``--kubeconfig``) and one ``kubeweft run``
(SQLite, no leader election, the namespace watched), creates ``--webapps`` WebApps over
REST and waits for their Deployments. One informer on the cluster's Deployments then
times, one sample at a time and alternating:

* **watch** — this script patches an annotation of a Deployment it created itself and
  waits for the watch to show it: the API server's write plus watch delivery, the
  least any controller-made change can take;
* **kubeweft** — this script PATCHes a WebApp's image over REST (merge patch) and, at the
  same time, waits for the watch to show its Deployment with that image: the REST
  write, the work queue (told at the write's answer by the cache's mutation, or by the
  informer's watch), the reconcile and the Deployment update. The
  REST response is timed too (**response**): it also reads the object back for the
  detail view, so it may come after the Deployment was updated.

Prints p50/p90/p99 of each and the difference of the p99s (the goal: ≤ 50 ms).

**Pace.** By default (``--pace settled``) each sample starts once the previous change
has settled: the Deployment's rollout is complete (every replica updated and available,
none left of the old template) and the WebApp reports it (``observedGeneration`` of its
generation, every replica ready), then ``--gap`` seconds more. That is the latency of
one spec change. With ``--pace back-to-back`` a sample starts ``--gap`` seconds after
the previous one's Deployment update was seen, while its rollout (a ReplicaSet, pods,
the Deployment controller's status writes, kubeweft's status patches) still runs: a
load test in which, on a 2-core machine, the API server, etcd, the controller manager
and kubeweft share saturated cores.

The API server's own request counters (``apiserver_request_total``) are read around the
samples, and the writes per WebApp change are printed by resource and verb: kubeweft's
(``webapps``, ``webapps/status``, ``deployments``, ``events``) beside the Deployment
controller's and kwok's.

With ``--compare-src DIR`` a second ``kubeweft run`` imports the package from ``DIR``
(say, an export of the tree with one change undone) and manages WebApps in a namespace
of its own; each round then times a sample of it too (**compare**), so a change's
effect is a ratio measured in one run.

    .venv/bin/python bench/propagation.py [--samples 200] [--webapps 20] [--compare-src DIR]
        [--pace settled|back-to-back] [--gap SECONDS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.process import KubeweftProcess, spawn

from _environment import api_requests
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client
from kubeweft.runtime.informer import InformerOptions, SharedInformer

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
NAMESPACE = "bench-propagation"
BASELINE = "baseline"
ANNOTATION = "bench.kubeweft.dev/seq"
MERGE = {"content-type": "application/merge-patch+json"}

#: The newest Deployment seen by the watch, by namespace/name.
Seen = dict[str, Deployment]


@dataclass
class Target:
    """One ``kubeweft run`` and the WebApps it manages."""

    label: str
    namespace: str
    process: KubeweftProcess
    names: list[str]
    propagation: list[float] = field(default_factory=list)
    responses: list[float] = field(default_factory=list)


def image_of(deployment: Deployment) -> str | None:
    spec = deployment.spec
    pod = spec.template.spec if spec is not None else None
    return pod.containers[0].image if pod is not None and pod.containers else None


def baseline_deployment() -> Deployment:
    labels = {"app": BASELINE}
    return Deployment(
        metadata=meta_v1.ObjectMeta(name=BASELINE, namespace=NAMESPACE),
        spec=apps_v1.DeploymentSpec(
            replicas=0,
            selector=meta_v1.LabelSelector(matchLabels=labels),
            template=core_v1.PodTemplateSpec(
                metadata=meta_v1.ObjectMeta(labels=labels),
                spec=core_v1.PodSpec(containers=[core_v1.Container(name="c", image="x")]),
            ),
        ),
    )


class Watcher:
    """A shared informer's handler on the cluster's Deployments; ``wait`` for a state."""

    def __init__(self) -> None:
        self.seen: Seen = {}
        self._changed = anyio.Event()

    def on_add(self, obj: Deployment, is_initial_list: bool = False) -> None:
        self._saw(obj)

    def on_update(self, old: Deployment, new: Deployment) -> None:
        self._saw(new)

    def on_delete(self, obj: Deployment) -> None:
        return None

    def _saw(self, obj: Deployment) -> None:
        assert obj.metadata is not None
        self.seen[f"{obj.metadata.namespace}/{obj.metadata.name}"] = obj
        self._changed.set()
        self._changed = anyio.Event()

    async def wait(self, check: Callable[[Seen], bool], within: float = 30.0) -> float:
        """Monotonic time at which ``check(self.seen)`` first held."""
        with anyio.fail_after(within):
            while not check(self.seen):
                await self._changed.wait()
        return time.monotonic()


def rolled_out(deployment: Deployment | None) -> bool:
    """The Deployment controller has finished: every replica of the current template is
    updated and available, and none of an older one is left."""
    if deployment is None or deployment.spec is None or deployment.status is None:
        return False
    meta, status, want = deployment.metadata, deployment.status, deployment.spec.replicas
    return (
        meta is not None
        and (status.observedGeneration or 0) >= (meta.generation or 0)
        and (status.updatedReplicas or 0) == want
        and (status.availableReplicas or 0) == want
        and (status.replicas or 0) == want
    )


def reported(webapp: WebApp) -> bool:
    """kubeweft has reported the rollout on the WebApp: its status is of the current
    generation and every replica is ready."""
    status = webapp.status
    return (
        status.observed_generation == webapp.metadata.generation
        and status.ready_replicas == webapp.spec.replicas
        and status.replicas == webapp.spec.replicas
    )


def annotated(deployment: Deployment, i: int) -> bool:
    meta = deployment.metadata
    return meta is not None and (meta.annotations or {}).get(ANNOTATION) == str(i)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(cluster: ClusterAccess, targets: list[Target], args: argparse.Namespace) -> None:
    baseline = f"{NAMESPACE}/{BASELINE}"
    async with (
        Client.from_kubeconfig(cluster.kubeconfig_path) as client,
        anyio.create_task_group() as group,
    ):
        watcher = Watcher()
        informer = SharedInformer(client, Deployment, InformerOptions())
        informer.add_event_handler(watcher)
        group.start_soon(informer.run)
        await client.create(baseline_deployment())
        apis = [httpx.AsyncClient(base_url=t.process.api_url or "", timeout=30.0) for t in targets]
        for target, api in zip(targets, apis, strict=True):
            for name in target.names:
                body = {"name": name, "namespace": target.namespace, "spec": {"image": "nginx:0"}}
                response = await api.post("/api/webapps", json=body)
                response.raise_for_status()
        keys = [baseline, *(f"{t.namespace}/{n}" for t in targets for n in t.names)]
        await watcher.wait(lambda seen: all(key in seen for key in keys), 120.0)
        for target in targets:
            for name in target.names:
                await settle(client, watcher, target.namespace, name)
        writes_before = await anyio.to_thread.run_sync(api_requests, cluster)
        watch: list[float] = []
        for i in range(1, args.samples + 1):
            started = time.monotonic()
            await client.patch(
                Deployment,
                BASELINE,
                {"metadata": {"annotations": {ANNOTATION: str(i)}}},
                namespace=NAMESPACE,
            )

            def shown(seen: Seen, i: int = i) -> bool:
                return annotated(seen[baseline], i)

            seen_at = await watcher.wait(shown)
            watch.append(seen_at - started)
            # The processes take turns going first, so neither always follows the watch.
            order = list(zip(targets, apis, strict=True))
            for target, api in order[i % len(order) :] + order[: i % len(order)]:
                name = await propagate(watcher, target, api, i)
                if args.pace == "settled":
                    await settle(client, watcher, target.namespace, name)
                await anyio.sleep(args.gap)
        writes = await anyio.to_thread.run_sync(api_requests, cluster)
        writes.subtract(writes_before)
        for api in apis:
            await api.aclose()
        group.cancel_scope.cancel()

    def line(label: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return (
            f"{label:9s} p50 {statistics.median(ms):6.1f} ms  p90 {percentile(ms, 0.9):6.1f} ms  "
            f"p99 {percentile(ms, 0.99):6.1f} ms  ({len(ms)} samples)"
        )

    print(f"pace: {args.pace}, {args.gap:.2f} s between samples")
    print(line("watch", watch))
    for target in targets:
        print(line(target.label, target.propagation))
        print(line("response" if target is targets[0] else "response*", target.responses))
    kubeweft = targets[0].propagation
    excess = (percentile(kubeweft, 0.99) - percentile(watch, 0.99)) * 1000
    print(f"p99 kubeweft - p99 watch: {excess:.1f} ms (goal: <= 50 ms)")
    changes = args.samples * len(targets)
    per_change = Counter[str]()
    for (verb, resource, _code), count in writes.items():
        per_change[f"{verb} {resource}"] += count
    print(f"API writes per WebApp change ({changes} changes, every client):")
    for what, count in sorted(per_change.items()):
        if count > 0:
            print(f"  {what:32s} {count / changes:5.2f}")
    if len(targets) > 1:
        other = targets[1].propagation
        print(
            f"kubeweft / compare: p50 {statistics.median(kubeweft) / statistics.median(other):.2f}"
            f"  p99 {percentile(kubeweft, 0.99) / percentile(other, 0.99):.2f}"
        )


async def settle(client: Client, deployments: Watcher, namespace: str, name: str) -> None:
    """Wait until the WebApp's last change has rolled out and kubeweft has reported it.
    The WebApp is polled (no watch of this script's competes with the samples)."""
    await deployments.wait(lambda seen: rolled_out(seen.get(f"{namespace}/{name}")))
    webapp: WebApp | None = None
    with anyio.move_on_after(30.0):
        while True:
            webapp = await client.get(WebApp, name, namespace)
            if reported(webapp):
                return
            await anyio.sleep(0.05)
    status = webapp.status if webapp is not None else None
    raise TimeoutError(f"WebApp {namespace}/{name} did not report its rollout: {status}")


async def propagate(watcher: Watcher, target: Target, api: httpx.AsyncClient, i: int) -> str:
    """PATCH one of ``target``'s WebApps; time its Deployment's update and the response.
    Returns the WebApp's name."""
    name, image = target.names[i % len(target.names)], f"nginx:{i}"
    key = f"{target.namespace}/{name}"
    started = time.monotonic()

    async def patch() -> None:
        response = await api.patch(
            f"/api/webapps/{target.namespace}/{name}",
            json={"spec": {"image": image}},
            headers=MERGE,
        )
        response.raise_for_status()
        target.responses.append(time.monotonic() - started)

    async with anyio.create_task_group() as sample:
        sample.start_soon(patch)
        seen_at = await watcher.wait(lambda seen: image_of(seen[key]) == image)
    target.propagation.append(seen_at - started)
    return name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--webapps", type=int, default=20)
    parser.add_argument(
        "--pace",
        choices=("settled", "back-to-back"),
        default="settled",
        help="start a sample once the previous change has rolled out (default), or not",
    )
    parser.add_argument(
        "--gap", type=float, default=None, help="seconds between samples (0.2 settled, 0.05)"
    )
    parser.add_argument("--nodes", type=int, default=1, help="kwok nodes")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    parser.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also run a kubeweft imported from this directory (sampled in turn)",
    )
    args = parser.parse_args()
    if args.gap is None:
        args.gap = 0.2 if args.pace == "settled" else 0.05

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kw-propagation-")))
        cluster: ClusterAccess
        if args.kubeconfig is None:
            cluster = stack.enter_context(LocalCluster(binaries=find_binaries(), nodes=args.nodes))
        else:
            cluster = ExternalCluster(args.kubeconfig)
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        cluster.kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
        names = [f"app-{i:03d}" for i in range(args.webapps)]
        targets: list[Target] = []
        runs = [("kubeweft", NAMESPACE, None)]
        if args.compare_src is not None:
            runs.append(("compare", f"{NAMESPACE}-compare", args.compare_src.resolve()))
        for label, namespace, source in runs:
            cluster.kubectl("create", "namespace", namespace)
            env = {
                "KUBEWEFT_LEADER_ELECTION": "false",
                "KUBEWEFT_INSTALL_CRDS": "false",
                "KUBEWEFT_LOG_LEVEL": "WARNING",
                "KUBEWEFT_WATCH_NAMESPACE": namespace,
                **({"PYTHONPATH": str(source)} if source is not None else {}),
            }
            process = spawn(cluster.kubeconfig_path, workdir, env=env, name=f"propagation-{label}")
            stack.callback(process.stop)
            targets.append(Target(label, namespace, process, names))
        for target in targets:
            target.process.wait_ready()
        pids = ", ".join(f"{t.label} {t.process.pid}" for t in targets)
        print(f"cpus: {os.cpu_count()} (shared); kubeweft run pids: {pids}", flush=True)
        try:
            anyio.run(bench, cluster, targets, args)
        except BaseException:
            for target in targets:
                print(target.process.log_tail(), file=sys.stderr)
            raise


if __name__ == "__main__":
    main()
