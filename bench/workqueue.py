"""Work-queue throughput: adds, gets (+done) per second and per-item overhead.

    .venv/bin/python bench/workqueue.py [items]

Measures the queue alone (no reconciler): unique adds, duplicate adds (dedup path),
a get/done cycle with 1 and with 8 workers, and add_after + promotion. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import sys
import time

import anyio

from kubeweft.runtime.reconcile import Request
from kubeweft.runtime.workqueue import QueueShutDown, RateLimitingQueue


def report(label: str, count: int, seconds: float) -> None:
    print(f"{label:<44} {count / seconds:>12,.0f} /s   {seconds / count * 1e6:>7.2f} µs/item")


async def drain(queue: RateLimitingQueue[Request], workers: int) -> None:
    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except QueueShutDown:
                return
            queue.done(key)

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
        queue.shut_down()  # workers still get every queued key, then stop


async def main(items: int) -> None:
    keys = [Request("bench", f"obj-{i}") for i in range(items)]
    for name in ("", "bench"):
        label = "metrics on " if name else "metrics off"
        queue: RateLimitingQueue[Request] = RateLimitingQueue(name)
        start = time.perf_counter()
        for key in keys:
            queue.add(key)
        report(f"[{label}] add (unique keys)", items, time.perf_counter() - start)
        start = time.perf_counter()
        for key in keys:
            queue.add(key)
        report(f"[{label}] add (already queued: dedup)", items, time.perf_counter() - start)
        start = time.perf_counter()
        await drain(queue, 1)
        report(f"[{label}] get+done, 1 worker", items, time.perf_counter() - start)

        queue = RateLimitingQueue(name)
        for key in keys:
            queue.add(key)
        start = time.perf_counter()
        await drain(queue, 8)
        report(f"[{label}] get+done, 8 workers", items, time.perf_counter() - start)

        queue = RateLimitingQueue(name)
        start = time.perf_counter()
        for key in keys:
            queue.add_after(key, 0.001)
        await anyio.sleep(0.01)
        added = time.perf_counter()
        await drain(queue, 1)
        elapsed = (added - start - 0.01) + (time.perf_counter() - added)
        report(f"[{label}] add_after + promote + get+done", items, elapsed)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
