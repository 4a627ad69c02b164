"""How long the local control plane takes to become ready, and what it costs at idle.

Prints, per run, the time from ``LocalCluster.start()`` to ready (``/readyz`` ok, the
``default`` ServiceAccount present, every kwok Node Ready), then the resident memory of
each component after an idle period, and the disk used by the binaries and Go caches.

    .venv/bin/python bench/cluster_start.py [--runs 3] [--idle 20] [--nodes 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

from kubeweft.localcluster import LocalCluster, find_binaries


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MiB. PSS splits the pages of the shared multi-call binary among the
    processes mapping it, so PSS sums to the real total where RSS double-counts."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            fields[key] = int(rest.split()[0]) / 1024
    return fields.get("Rss", float("nan")), fields.get("Pss", float("nan"))


def disk(path: Path) -> str:
    if not path.exists():
        return "absent"
    result = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=False)
    return result.stdout.split("\t", 1)[0] or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds before measuring RSS")
    parser.add_argument("--nodes", type=int, default=1)
    args = parser.parse_args()

    binaries = find_binaries()
    print(f"binaries: {binaries.source}")
    durations: list[float] = []
    for run in range(1, args.runs + 1):
        cluster = LocalCluster(binaries=binaries, nodes=args.nodes)
        started = time.monotonic()
        with cluster:
            elapsed = time.monotonic() - started
            durations.append(elapsed)
            steps = ", ".join(f"{name} {at:.2f}" for name, at in cluster.timings.items())
            print(f"run {run}: ready in {elapsed:.2f} s ({steps})")
            if run == args.runs:
                time.sleep(args.idle)  # let start-up garbage be collected before measuring
                print(f"memory after {args.idle:.0f} s idle (MiB):   RSS      PSS")
                total_rss = total_pss = 0.0
                for name, pid in cluster.pids.items():
                    rss, pss = memory_mib(pid)
                    total_rss += rss
                    total_pss += pss
                    print(f"  {name:<24} {rss:8.1f} {pss:8.1f}")
                print(f"  {'total':<24} {total_rss:8.1f} {total_pss:8.1f}")
    print(
        f"start until ready: median {statistics.median(durations):.2f} s, "
        f"min {min(durations):.2f} s, max {max(durations):.2f} s over {len(durations)} runs"
    )
    print("disk:")
    print(f"  binaries ({binaries.etcd.parent}): {disk(binaries.etcd.parent)}")
    home = Path.home()
    gomodcache = Path(os.environ.get("GOMODCACHE", home / "go" / "pkg" / "mod"))
    gocache = Path(os.environ.get("GOCACHE", home / ".cache" / "go-build"))
    print(f"  Go module cache ({gomodcache}): {disk(gomodcache)}")
    print(f"  Go build cache ({gocache}): {disk(gocache)}")


if __name__ == "__main__":
    main()
