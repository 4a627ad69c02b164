"""Live updates under load: open event streams while objects change at a steady rate.

Run: ``.venv/bin/python bench/streams.py [--streams 200] [--rate 100] [--seconds 30]
2>bench.log``

Set-up: a local control plane (started here unless ``KUBECONFIG`` points at one) and
``--objects`` WebApps in one namespace. The kubeweft process runs in this interpreter
without the controller (the streams are fed by its informer, as with the controller
on). The load comes from separate processes so that neither shares its event loop with
the server: ``--readers`` processes hold ``--streams`` streams of the namespace between
them (``/api/watch/webapps/<ns>``), and one writer patches ``--rate`` objects per second
straight on the API server (as ``kubectl`` would), stamping each patch with the wall
clock in a label. A reader takes each ``modified`` event's stamp from the label, so the
latency is API-server write → informer → watch cache → stream → client.

Prints the delivery latency (p50, p99, max) over every event every stream received, the
events expected and received, and the process's resident memory (idle, with the streams
open, and the peak while changes flow). To tell a slow stream path from a starved
machine it also prints how long the API server took to answer the writer's patches,
how many changes reached the informer, and for the kubeweft process, the API server and
etcd how long their threads ran and how long they waited runnable for a CPU
(``/proc/<pid>/task/*/schedstat``) while the changes flowed. Figures depend on the
machine; compare rows of one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from tests.support.waiting import wait_until_async

from _environment import api_settings

NAMESPACE = "bench-streams"
STAMP = re.compile(rb'"sent":"(\d+)"')


def rss_mib(pid: int | None = None) -> float:
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return kib / 1024


class _Receipts:
    """An informer handler noting when each stamped change reached this process."""

    def __init__(self, received: dict[int, int]) -> None:
        self.received = received

    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        pass

    def on_update(self, old: Any, new: Any) -> None:
        stamp = (new.metadata.labels or {}).get("sent")
        if stamp:
            self.received.setdefault(int(stamp), time.time_ns())

    def on_delete(self, obj: Any) -> None:
        pass


def _scheduled(pid: int | str) -> tuple[float, float]:
    """Seconds a process's threads ran, and waited runnable for a CPU (schedstat)."""
    ran = waited = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "schedstat").read_text().split()
            ran, waited = ran + int(fields[0]), waited + int(fields[1])
    return ran / 1e9, waited / 1e9


def _cluster_processes(kubeconfig: Path) -> dict[str, str]:
    """The local control plane's kube-apiserver and etcd (their command lines name the
    cluster's directory); empty for a cluster this script did not start."""
    found: dict[str, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                command = (entry / "cmdline").read_bytes().split(b"\0")
                if str(kubeconfig.parent).encode() in b" ".join(command):
                    name = Path(command[0].decode()).name
                    if name in ("kube-apiserver", "etcd"):
                        found[name] = entry.name
    return found


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- readers (separate processes) ----------------------------------------------------------


async def _read(base: str, streams: int, seconds: float) -> dict[str, Any]:
    stamps: list[int] = []
    arrivals: list[int] = []
    synced = cut_off = 0
    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    path = f"/api/watch/webapps/{NAMESPACE}"
    async with httpx.AsyncClient(base_url=base, timeout=None, limits=limits) as http:

        async def one() -> None:
            nonlocal synced, cut_off
            async with http.stream("GET", path) as response:
                assert response.status_code == 200, await response.aread()
                pending = b""
                # Whole events are cut from raw chunks (cheaper than decoding lines, so
                # the readers keep up on a small machine).
                async for chunk in response.aiter_raw():
                    now = time.time_ns()
                    events, _, pending = (pending + chunk).rpartition(b"\n\n")
                    synced += events.count(b"event: synced")
                    cut_off += events.count(b"event: resync")
                    found = STAMP.findall(events)
                    stamps.extend(int(s) for s in found)
                    arrivals.extend([now] * len(found))

        with anyio.move_on_after(seconds):
            async with anyio.create_task_group() as tg:
                for _ in range(streams):
                    tg.start_soon(one)
    return {
        "stamps": stamps,
        "arrivals": arrivals,
        "synced": synced,
        "cut_off": cut_off,
        "cpu_s": _cpu_seconds(),
    }


def reader_main(argv: list[str]) -> None:
    base, streams, seconds = argv[0], int(argv[1]), float(argv[2])
    print(json.dumps(anyio.run(_read, base, streams, seconds)))


# --- the writer (a separate process) --------------------------------------------------------


async def _write(kubeconfig: str, objects: int, rate: float, seconds: float) -> dict[str, Any]:
    from kubeweft.examples.webapp import app
    from kubeweft.runtime.client import Client
    from kubeweft.settings import Settings

    model = app.models[0]
    settings = Settings(kubeconfig=Path(kubeconfig), local_cluster=False)
    written = failed = 0
    answers: list[float] = []  # seconds the API server took to answer each patch
    async with Client.from_settings(settings) as client:
        limiter = anyio.CapacityLimiter(32)

        async def patch(name: str) -> None:
            nonlocal written, failed
            async with limiter:
                labels = {"sent": str(time.time_ns())}
                asked = time.perf_counter()
                try:
                    await client.patch(
                        model, name, {"metadata": {"labels": labels}}, namespace=NAMESPACE
                    )
                    written += 1
                    answers.append(time.perf_counter() - asked)
                except Exception:
                    failed += 1

        start = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for i in range(int(rate * seconds)):
                await anyio.sleep_until(start + i / rate)
                tg.start_soon(patch, f"app-{i % objects:04d}")
        took = anyio.current_time() - start
    return {
        "written": written,
        "failed": failed,
        "answer_p50_ms": 1000 * statistics.median(answers) if answers else 0.0,
        "answer_p99_ms": 1000 * _percentile(answers, 0.99) if answers else 0.0,
        "took_s": took,
    }


def writer_main(argv: list[str]) -> None:
    kubeconfig, objects, rate, seconds = argv[0], int(argv[1]), float(argv[2]), float(argv[3])
    print(json.dumps(anyio.run(_write, kubeconfig, objects, rate, seconds)))


# --- the server (this process) --------------------------------------------------------------


async def bench(kubeconfig: Path, database_url: str, args: argparse.Namespace) -> None:
    from kubeweft.app import Process, ensure_crds
    from kubeweft.db.engine import Database
    from kubeweft.db.migrate import migrate
    from kubeweft.examples.webapp import app
    from kubeweft.runtime import errors as kube_errors
    from kubeweft.runtime.client import Client

    settings = api_settings(
        kubeconfig,
        database_url,
        stream_max_per_user=args.streams,
        http_max_connections=args.streams + 100,
        drain_timeout_seconds=5.0,
    )
    await migrate(database_url)
    database = Database(database_url).connect()
    client = Client.from_settings(settings)
    per_reader = -(-args.streams // args.readers)
    if args.without_database_fields:
        from kubeweft.rest.streambodies import StreamBodies

        async def no_fields(self: Any, ctx: Any, uids: list[str]) -> tuple[Any, Any]:
            return {}, {}

        StreamBodies._database_fields = no_fields  # type: ignore[method-assign]
    run_for = args.seconds + 10  # readers stay a little longer than the writer
    try:
        await ensure_crds(client, app.models, install=True, manager="bench")
        with contextlib.suppress(kube_errors.Conflict):
            await client.create(Namespace(metadata=ObjectMeta(name=NAMESPACE)))
        process = Process(app, settings, database, client)
        async with anyio.create_task_group() as tg:
            await tg.start(process.run)
            base = process.info.api_url or ""
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                for i in range(args.objects):
                    body = {
                        "name": f"app-{i:04d}",
                        "namespace": NAMESPACE,
                        "spec": {"image": "nginx:1.27"},
                    }
                    created = await http.post("/api/webapps", json=body)
                    assert created.status_code in (201, 409), created.text
            idle = rss_mib()
            received: dict[int, int] = {}
            process.cache.informer_for(app.models[0]).add_event_handler(_Receipts(received))
            results: list[dict[str, Any]] = []
            peak = idle
            with_streams = idle

            async def reader(count: int) -> None:
                done = await anyio.run_process(
                    [sys.executable, __file__, "--read", base, str(count), str(run_for)]
                )
                results.append(json.loads(done.stdout))

            async with anyio.create_task_group() as load:
                remaining = args.streams
                for _ in range(args.readers):
                    load.start_soon(reader, min(per_reader, remaining))
                    remaining -= per_reader
                watches = process.context.watches if process.context else None
                assert watches is not None

                async def open_streams() -> int:
                    return watches.open_streams("bench")

                await wait_until_async(  # slow to start on a loaded machine
                    open_streams,
                    accept=lambda n: n >= args.streams,
                    what="streams open",
                    timeout=600,
                )
                with_streams = rss_mib()
                writer = [
                    sys.executable,
                    __file__,
                    "--write",
                    str(kubeconfig),
                    str(args.objects),
                    str(args.rate),
                    str(args.seconds),
                ]
                written: dict[str, Any] = {}

                async def write() -> None:
                    done = await anyio.run_process(writer)
                    written.update(json.loads(done.stdout))

                load.start_soon(write)
                cluster = _cluster_processes(kubeconfig)
                scheduled = {"kubeweft": _scheduled(os.getpid())}
                scheduled.update({name: _scheduled(pid) for name, pid in cluster.items()})
                cpu_before = _cpu_seconds()
                before = watches.cache_for(app.models[0]).buffered
                feeds: tuple[Any, ...] = ()
                bursts, stretch = 0, 1.0
                for _ in range(int(run_for)):
                    await anyio.sleep(1)
                    peak = max(peak, rss_mib())
                    # The feeds go when the readers leave: note what they show until then.
                    feeds = watches.cache_for(app.models[0]).feeds or feeds
                    bursts = sum(feed.burst_count for feed in feeds)
                    stretch = max([stretch, *(feed.stretch for feed in feeds)])
                cpu = _cpu_seconds() - cpu_before
                pids = {"kubeweft": str(os.getpid()), **cluster}
                for name, (ran, waited) in list(scheduled.items()):
                    now_ran, now_waited = _scheduled(pids[name])
                    scheduled[name] = (now_ran - ran, now_waited - waited)
                recorded = watches.cache_for(app.models[0]).buffered - before
            process.stop()
        pairs = [(s, a) for r in results for s, a in zip(r["stamps"], r["arrivals"], strict=True)]
        latencies = [(a - s) / 1e6 for s, a in pairs]
        # From the informer's receipt of the change: the part the streams are responsible for.
        after_informer = [(a - received[s]) / 1e6 for s, a in pairs if s in received]
        expected = written.get("written", 0) * args.streams
        print(
            f"\n== {args.streams} streams, {args.rate:g} changes/s for {args.seconds:g} s "
            f"over {args.objects} WebApps ({args.readers} reader processes)"
        )
        print(
            f"  writes: {written.get('written', 0)} ok, {written.get('failed', 0)} failed; "
            f"events: {len(latencies)} received of {expected} expected"
        )
        print(
            f"  the API server's answer to a patch: p50 {written.get('answer_p50_ms', 0):7.1f} ms"
            f"   p99 {written.get('answer_p99_ms', 0):7.1f} ms; the last of the writes "
            f"answered {written.get('took_s', 0):.1f} s after the first was sent"
        )
        if latencies:
            print(
                f"  delivery latency: p50 {statistics.median(latencies):7.1f} ms   "
                f"p99 {_percentile(latencies, 0.99):7.1f} ms   max {max(latencies):7.1f} ms"
                "   (write on the API server -> client)"
            )
        if after_informer:
            print(
                f"  delivery latency: p50 {statistics.median(after_informer):7.1f} ms   "
                f"p99 {_percentile(after_informer, 0.99):7.1f} ms   "
                f"max {max(after_informer):7.1f} ms   (informer -> client)"
            )
        cut_off = sum(r["cut_off"] for r in results)
        print(f"  streams cut off as too slow: {cut_off} of {args.streams}")
        fields = "left out (--without-database-fields)" if args.without_database_fields else "read"
        print(f"  the events' database fields (latest samples, project fields): {fields}")
        print(f"  changes the informer delivered to the watch cache: {recorded}")
        print(
            f"  feeds: {len(feeds)}; bursts: {bursts} ({recorded / max(bursts, 1):.1f} changes "
            f"each); the gather stretched up to x{stretch:g}"
        )
        readers_cpu = sum(r["cpu_s"] for r in results)
        print(f"  CPU of the {args.readers} reader processes: {readers_cpu:.1f} s")
        if recorded and latencies:
            print(
                f"  kubeweft CPU per change: {1000 * cpu / recorded:.2f} ms; per event received: "
                f"{1e6 * cpu / len(latencies):.1f} us"
            )
        print(
            f"  CPU of the kubeweft process while changes flow: {cpu:.1f} s in {run_for:g} s; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        for name, (ran, waited) in scheduled.items():
            print(
                f"  {name}: ran {ran:5.1f} s, waited runnable for a CPU {waited:6.1f} s "
                f"(all threads, over the {run_for:g} s the changes flow)"
            )
        print(
            f"  RSS of the kubeweft process: idle {idle:6.1f} MiB   {args.streams} streams "
            f"open {with_streams:6.1f} MiB   peak under load {peak:6.1f} MiB",
            flush=True,
        )
    finally:
        await client.aclose()
        await database.aclose()


async def main(args: argparse.Namespace) -> None:
    from kubeweft.localcluster import LocalCluster
    from kubeweft.logging import configure_logging

    configure_logging("WARNING", "json")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        external = os.environ.get("KUBECONFIG")
        if external:
            await bench(Path(external), url, args)
        else:
            async with LocalCluster() as cluster:
                await bench(cluster.kubeconfig_path, url, args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--read":
        reader_main(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--write":
        writer_main(sys.argv[2:])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200, help="open streams")
    parser.add_argument("--rate", type=float, default=100.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long changes flow")
    parser.add_argument("--objects", type=int, default=100, help="WebApps that change")
    parser.add_argument("--readers", type=int, default=4, help="reader processes")
    parser.add_argument(
        "--without-database-fields",
        action="store_true",
        help="send events without their database fields (no read per burst), to isolate its cost",
    )
    anyio.run(main, parser.parse_args())
