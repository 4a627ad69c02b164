"""Memory: RSS of an idle ``kubeweft run`` with N WebApps (and their children) cached,
and what unrelated Deployments in the cluster add to it.

Starts a local control plane (5 kwok nodes, a /16 service range) or uses
``--kubeconfig``, spawns one ``kubeweft run`` (the shipped WebApp application, SQLite,
no leader election, its SQLite schema migrated beforehand as a restart finds it) and
prints its RSS (``VmRSS``) and anonymous memory (``RssAnon``):

1. ready, with nothing to cache;
2. idle after ``--webapps`` WebApps were created and all are Ready (so their
   Deployments and Services are cached too);
3. idle after ``--unrelated`` Deployments without kubeweft's managed-by label
   (replicas 0) were created in another namespace.

Each idle figure is read after ``--settle`` seconds without changes, followed by where
the resident pages are (``/proc/<pid>/smaps``: the heap and anonymous mappings, which
hold Python's objects and C allocations, then the largest shared libraries) and the
process's thread count.

    .venv/bin/python bench/memory.py [--webapps 1000] [--unrelated 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import anyio
from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.process import KubeweftProcess, spawn

from converge import in_parallel, ready_webapps, webapp_body
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import ExternalCluster, LocalCluster, find_binaries
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime.client import Client

CRD = Path(__file__).parents[1] / "config" / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
WEBAPPS = "bench-memory"
UNRELATED = "bench-unrelated"


def memory(pid: int) -> str:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024
    return f"RSS {fields['VmRSS']:.1f} MiB (anonymous {fields['RssAnon']:.1f} MiB)"


def breakdown(pid: int, shown: int = 4) -> str:
    """Resident MiB by mapping: anonymous memory, then the largest files (libraries)."""
    resident: dict[str, int] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address perms offset dev inode [path]
            path = fields[5] if len(fields) > 5 else ""
            name = "anonymous" if path in ("", "[heap]", "[stack]") else Path(path).name
        elif fields[0] == "Rss:":
            resident[name] = resident.get(name, 0) + int(fields[1])
    anonymous = resident.pop("anonymous", 0)
    files = sorted(resident.items(), key=lambda item: -item[1])
    rest = sum(kb for _, kb in files[shown:])
    threads = next(
        line.split()[1]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Threads:")
    )
    parts = [f"anonymous {anonymous / 1024:.1f}"]
    parts += [f"{file} {kb / 1024:.1f}" for file, kb in files[:shown]]
    parts.append(f"{len(files) - shown} other files {rest / 1024:.1f} MiB; {threads} threads")
    return "  " + ", ".join(parts)


def unrelated(i: int) -> Deployment:
    labels = {"app": f"other-{i}"}
    return Deployment(
        metadata=meta_v1.ObjectMeta(name=f"other-{i:04d}", namespace=UNRELATED, labels=labels),
        spec=apps_v1.DeploymentSpec(
            replicas=0,
            selector=meta_v1.LabelSelector(matchLabels=labels),
            template=core_v1.PodTemplateSpec(
                metadata=meta_v1.ObjectMeta(labels=labels),
                spec=core_v1.PodSpec(containers=[core_v1.Container(name="c", image="nginx")]),
            ),
        ),
    )


async def bench(cluster: ClusterAccess, process: KubeweftProcess, args: argparse.Namespace) -> None:
    print(f"ready, nothing cached: {memory(process.pid)}", flush=True)
    print(breakdown(process.pid), flush=True)
    async with Client.from_kubeconfig(cluster.kubeconfig_path) as client:
        for name in (WEBAPPS, UNRELATED):
            await client.create(Namespace(metadata=meta_v1.ObjectMeta(name=name)))
        await anyio.sleep(2.0)  # the namespaces' default ServiceAccounts

        async def create_webapp(i: int) -> None:
            await client.create(WebApp.model_validate(webapp_body(WEBAPPS, i)))

        started = time.monotonic()
        await in_parallel(args.webapps, create_webapp, 32)
        while True:
            if ready_webapps((await client.list_all(WebApp, WEBAPPS)).items) >= args.webapps:
                break
            await anyio.sleep(1.0)
        print(f"{args.webapps} WebApps Ready after {time.monotonic() - started:.0f} s", flush=True)
        await anyio.sleep(args.settle)
        print(f"idle, {args.webapps} WebApps cached: {memory(process.pid)}", flush=True)
        print(breakdown(process.pid), flush=True)

        async def create_unrelated(i: int) -> None:
            await client.create(unrelated(i))

        await in_parallel(args.unrelated, create_unrelated, 32)
        await anyio.sleep(args.settle)
        print(f"idle, + {args.unrelated} unrelated Deployments: {memory(process.pid)}", flush=True)
        print(breakdown(process.pid), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webapps", type=int, default=1000)
    parser.add_argument("--unrelated", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--nodes", type=int, default=5, help="kwok nodes (250 pods each)")
    parser.add_argument("--kubeconfig", type=Path, default=None, help="use this cluster")
    args = parser.parse_args()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kw-memory-")))
        cluster: ClusterAccess
        if args.kubeconfig is None:
            cluster = stack.enter_context(
                LocalCluster(
                    binaries=find_binaries(),
                    nodes=args.nodes,
                    apiserver_args=["--service-cluster-ip-range=10.0.0.0/16"],
                )
            )
        else:
            cluster = ExternalCluster(args.kubeconfig)
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
        cluster.kubectl("wait", "--for=condition=Established", "crd/webapps.kubeweft.dev")
        env = {
            "KUBEWEFT_LEADER_ELECTION": "false",
            "KUBEWEFT_INSTALL_CRDS": "false",
            "KUBEWEFT_LOG_LEVEL": "WARNING",
        }
        # The schema is migrated first, as a restarted process (or a migration Job) finds
        # it: a process that ran a migration itself keeps Alembic loaded (≈ 7 MiB).
        database = workdir / "memory" / "kubeweft.db"
        database.parent.mkdir(parents=True)
        kubeweft = Path(sys.executable).parent / "kubeweft"
        migrate = [str(kubeweft), "db", "migrate", f"--database-url=sqlite+aiosqlite:///{database}"]
        subprocess.run(migrate, check=True, capture_output=True)
        process = spawn(cluster.kubeconfig_path, workdir, env=env, name="memory")
        stack.callback(process.stop)
        process.wait_ready()
        print(f"cpus: {os.cpu_count()} (shared); kubeweft run pid {process.pid}", flush=True)
        anyio.run(bench, cluster, process, args)


if __name__ == "__main__":
    main()
