"""The conversion webhook: the latency it adds to a get and a list through v1alpha1.

Starts a local control plane (or uses ``--kubeconfig``; its API server must reach this
machine's loopback address), installs the WebApp CRD (v1 stored, v1alpha1 served,
conversion by webhook) and spawns ``kubeweft run`` (the shipped application,
``--no-controller``, SQLite in a temporary directory) with
``KUBEWEFT_WEBHOOK_CERTIFICATES=local``, so kube-apiserver calls its ``/convert`` at
``https://127.0.0.1:<port>``. Creates ``--objects`` WebApps (stored as v1), then times,
one client and one request at a time, the same reads as ``kubectl get`` makes them:

* a **get** of one WebApp through ``v1`` (no conversion) and through ``v1alpha1`` (one
  object converted by the webhook);
* a **list** of the namespace through ``v1`` and through ``v1alpha1`` (every object
  converted, in one ConversionReview).

The two versions alternate request by request, so both see the same machine load.
Prints p50/p99 per row and the difference.

    .venv/bin/python bench/conversion_latency.py [--objects 100] [--reads 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from _environment import percentile, webhook_environment

NAMESPACE = "bench-conversion"
PORTS = [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9113}]


def timed(http: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = http.get(path)
    seconds = time.perf_counter() - start
    response.raise_for_status()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--objects", type=int, default=100, help="WebApps in the listed namespace")
    parser.add_argument("--reads", type=int, default=400, help="per row")
    args = parser.parse_args()

    with ExitStack() as stack:
        bench = webhook_environment(stack, kubeconfig=args.kubeconfig, namespace=NAMESPACE)
        http = bench.http
        process = bench.spawn(stack)
        process.wait_ready()
        base = f"/apis/kubeweft.dev/{{}}/namespaces/{NAMESPACE}/webapps"
        for i in range(args.objects):
            body = {
                "apiVersion": "kubeweft.dev/v1",
                "kind": "WebApp",
                "metadata": {"name": f"app-{i}"},
                "spec": {"image": "nginx:1.27", "ports": PORTS},
            }
            http.post(base.format("v1"), json=body).raise_for_status()
        # The process points the CRD's conversion at itself once it serves: wait for it.
        while http.get(base.format("v1alpha1") + "/app-0").status_code != 200:
            if not process.alive():
                sys.exit(f"kubeweft run exited\n{process.log_tail()}")
            time.sleep(0.02)  # polling the API server until the conversion is registered

        rows: dict[str, list[float]] = {}
        for kind, suffix in (("get", "/app-0"), ("list", "")):
            for _ in range(args.reads):
                for version in ("v1", "v1alpha1"):
                    seconds = timed(http, base.format(version) + suffix)
                    rows.setdefault(f"{kind} {version}", []).append(seconds)

        def row(name: str, values: list[float]) -> str:
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            mean = statistics.fmean(values) * 1000
            figures = f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  mean {mean:7.2f} ms"
            return f"{name:<14} n={len(values):<5} {figures}"

        print(f"{args.objects} WebApps in the listed namespace")
        for name, values in rows.items():
            print(row(name, values))
        for kind in ("get", "list"):
            plain, converted = rows[f"{kind} v1"], rows[f"{kind} v1alpha1"]
            added50 = (percentile(converted, 0.5) - percentile(plain, 0.5)) * 1000
            added99 = (percentile(converted, 0.99) - percentile(plain, 0.99)) * 1000
            print(f"added by conversion to a {kind}: p50 {added50:+.2f} ms  p99 {added99:+.2f} ms")


if __name__ == "__main__":
    main()
