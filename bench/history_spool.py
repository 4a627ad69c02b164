"""What keeping history on disk costs a reconcile: ``HistorySpool.keep`` (write, fsync,
link, directory fsync) and ``drop`` (unlink), per record, on the state directory's disk.

A process pays one ``keep`` per new generation it reconciles (and one per object on its
first pass after a start), in a worker thread; the writer pays one ``drop`` per stored
row. Usage: ``python bench/history_spool.py [--records N] [--directory DIR]`` (DIR on
the disk the state directory will use; default a temporary directory).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kubeweft.db.records import HistoryRecord
from kubeweft.db.spool import HistorySpool


def record(uid: str) -> HistoryRecord:
    spec = {"image": "nginx:1.27", "replicas": 3, "env": [{"name": "MODE", "value": "prod"}]}
    return HistoryRecord(
        uid=uid, namespace="default", name="shop", kind="WebApp", generation=1, spec=spec
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--directory", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.directory) as directory:
        spool = HistorySpool(Path(directory) / "history-spool")
        records = [record(str(uuid.uuid4())) for _ in range(args.records)]
        keeps, drops = [], []
        for each in records:
            started = time.perf_counter()
            spool.keep(each)
            keeps.append(time.perf_counter() - started)
        started = time.perf_counter()
        loaded = spool.load()
        load_s = time.perf_counter() - started
        for each in records:
            started = time.perf_counter()
            spool.drop(each)
            drops.append(time.perf_counter() - started)
    assert len(loaded) == args.records
    ms = 1000.0
    print(f"records: {args.records} (directory {args.directory or tempfile.gettempdir()})")
    print(
        f"keep: median {statistics.median(keeps) * ms:.3f} ms, "
        f"p95 {statistics.quantiles(keeps, n=20)[-1] * ms:.3f} ms, total {sum(keeps):.2f} s"
    )
    print(f"drop: median {statistics.median(drops) * ms:.3f} ms, total {sum(drops):.2f} s")
    print(f"load of {args.records} at start: {load_s * ms:.1f} ms")


if __name__ == "__main__":
    main()
