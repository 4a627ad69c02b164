"""Admission webhooks: the latency they add to a create, and how soon they serve.

Starts a local control plane (or uses ``--kubeconfig``; its API server must reach this
machine's loopback address), installs the WebApp CRD and spawns ``kubeweft run`` (the
shipped application, ``--no-controller``, SQLite in a temporary directory) with
``KUBEWEFT_WEBHOOK_CERTIFICATES=local``, so kube-apiserver calls its defaulting and
validating webhooks at ``https://127.0.0.1:<port>``.

* **start-up** — from spawning the process to (a) its ready line and (b) the first
  create the API server admits *with the defaults applied* (the webhooks are serving
  and registered): a dry-run create is tried every 20 ms.
* **latency** — creates of a WebApp straight to the API server (one client, one request
  at a time), alternating rounds with the webhook configurations present and deleted
  (saved and re-applied by this script), so both sides see the same machine load.
  Prints p50/p99 per side and the difference.

    .venv/bin/python bench/webhook_latency.py [--creates 400] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from _environment import WEBHOOK_CONFIGURATIONS, percentile, webhook_environment

NAMESPACE = "bench-webhooks"


def webapp(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"image": "nginx:1.27"},
    }


def log_steps(log: str) -> dict[str, float]:
    """Seconds from the process's first log line to the webhook steps it logs."""
    wanted = {
        "http server listening": "webhook server listening",
        "webhook configurations applied": "configurations applied",
    }
    first: datetime | None = None
    found: dict[str, float] = {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        at = datetime.fromisoformat(entry["timestamp"])
        first = first or at
        event = entry.get("event")
        if event == "http server listening" and entry.get("server") != "webhook":
            continue
        if event in wanted and wanted[event] not in found:
            found[wanted[event]] = (at - first).total_seconds()
    return found


def time_creates(http: httpx.Client, prefix: str, count: int) -> list[float]:
    url = f"/apis/kubeweft.dev/v1/namespaces/{NAMESPACE}/webapps"
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        response = http.post(url, json=webapp(f"{prefix}-{i}"))
        seconds.append(time.perf_counter() - start)
        response.raise_for_status()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--creates", type=int, default=400, help="per side, over all rounds")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    with ExitStack() as stack:
        bench = webhook_environment(stack, kubeconfig=args.kubeconfig, namespace=NAMESPACE)
        cluster, http = bench.cluster, bench.http
        started = time.perf_counter()
        process = bench.spawn(stack)
        dry_run = f"/apis/kubeweft.dev/v1/namespaces/{NAMESPACE}/webapps?dryRun=All"
        while True:
            response = http.post(dry_run, json=webapp("probe"))
            if response.status_code == 201 and response.json()["spec"].get("resources"):
                admitted = time.perf_counter() - started
                break
            if not process.alive():
                sys.exit(f"kubeweft run exited\n{process.log_tail()}")
            time.sleep(0.02)  # polling the API server for the first defaulted create
        process.wait_ready()
        ready = time.perf_counter() - started
        print(f"start-up: defaulted by the webhook after {admitted:.2f} s from spawn;")
        print(f"          ready line and /readyz 200 after {ready:.2f} s")
        steps = log_steps(process.log())
        for event, seconds in steps.items():
            print(f"          {event}: {seconds:.2f} s after the process's first log line")

        saved = [
            json.loads(cluster.kubectl("get", name, "-o", "json").stdout)
            for name in WEBHOOK_CONFIGURATIONS
        ]
        for document in saved:
            for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
                document["metadata"].pop(key, None)
            document["metadata"].pop("managedFields", None)
        per_round = max(1, args.creates // args.rounds)
        with_hooks: list[float] = []
        without: list[float] = []
        for round_ in range(args.rounds):
            with_hooks += time_creates(http, f"w{round_}", per_round)
            cluster.kubectl("delete", *WEBHOOK_CONFIGURATIONS)
            without += time_creates(http, f"n{round_}", per_round)
            cluster.apply(saved)
            # The API server picks up a webhook configuration within a moment: wait for
            # the defaults to be applied again before timing.
            while not http.post(dry_run, json=webapp("probe")).json()["spec"].get("resources"):
                time.sleep(0.02)  # polling the API server

        def row(name: str, values: list[float]) -> str:
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            mean = statistics.fmean(values) * 1000
            return (
                f"{name:<22} n={len(values):<5} "
                f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  mean {mean:7.2f} ms"
            )

        print(row("create with webhooks", with_hooks))
        print(row("create without", without))
        added50 = (percentile(with_hooks, 0.5) - percentile(without, 0.5)) * 1000
        added99 = (percentile(with_hooks, 0.99) - percentile(without, 0.99)) * 1000
        print(f"added by the webhooks: p50 {added50:+.2f} ms  p99 {added99:+.2f} ms")


if __name__ == "__main__":
    main()
