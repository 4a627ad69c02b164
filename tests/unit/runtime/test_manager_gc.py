"""``ManagerOptions.freeze_gc_after_sync``: what exists once the caches synced is moved
out of the collector's reach, so a full collection scans only what came after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import anyio
import pytest
from anyio.abc import TaskStatus

from kubeweft.runtime.manager import Manager, ManagerOptions

pytestmark = pytest.mark.anyio


class FakeCache:
    def __init__(self) -> None:
        self.sync = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.sync.wait()
        task_status.started()
        await anyio.sleep_forever()

    def has_synced(self) -> bool:
        return self.sync.is_set()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.parametrize("freeze", [True, False])
async def test_the_heap_is_frozen_after_the_caches_synced(unfrozen: None, freeze: bool) -> None:
    cache = FakeCache()
    manager = Manager(None, cache, ManagerOptions(freeze_gc_after_sync=freeze))
    async with anyio.create_task_group() as group:
        group.start_soon(manager.run)
        await anyio.wait_all_tasks_blocked()
        assert gc.get_freeze_count() == 0  # not before the caches synced
        cache.sync.set()
        await anyio.wait_all_tasks_blocked()
        assert (gc.get_freeze_count() > 0) is freeze
        group.cancel_scope.cancel()
