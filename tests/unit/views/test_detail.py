"""get_detail: both sides fetched at once, joined; error precedence of the seed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.views import DatabaseUnavailable, ResourceNotFound, ResourceRecords, get_detail

pytestmark = pytest.mark.anyio

UID = "6c4c5a5e-1111-4222-8333-944444444444"


def webapp(uid: str = UID) -> WebApp:
    return WebApp(metadata=ObjectMeta(name="a", namespace="n", uid=uid), spec=WebAppSpec(image="x"))


class Cluster:
    def __init__(self, obj: Any, hint: str | None) -> None:
        self.obj, self.hint = obj, hint
        self.release = anyio.Event()
        self.started = anyio.Event()

    def peek_uid(self, kind: type[Any], namespace: str | None, name: str) -> str | None:
        return self.hint

    async def get(self, kind: type[Any], namespace: str | None, name: str) -> Any:
        self.started.set()
        await self.release.wait()
        if self.obj is None:
            raise ResourceNotFound("webapps", namespace, name)
        return self.obj

    async def list(self, *args: Any) -> list[Any]:
        return []


class Records:
    def __init__(self, cluster: Cluster, *, fail: bool = False) -> None:
        self.cluster, self.fail = cluster, fail
        self.uids: list[str] = []

    async def resource_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords:
        self.uids.append(uid)
        # The cluster read is still in progress: the two sides overlap.
        await self.cluster.started.wait()
        self.cluster.release.set()
        if self.fail:
            raise DatabaseUnavailable("down")
        return ResourceRecords()

    async def latest_metrics(self, uids: Any) -> dict[str, Any]:
        return {}


async def test_sides_overlap_and_join() -> None:
    cluster = Cluster(webapp(), UID)
    records = Records(cluster)
    with anyio.fail_after(5):  # a sequential implementation would wait forever
        view = await get_detail(WebApp, "n", "a", cluster=cluster, records=records)
    assert view.obj.metadata.uid == UID
    assert view.history == []
    assert view.metrics == {}
    assert records.uids == [UID]


async def test_not_in_cache_yet_reads_the_database_with_the_fresh_uid() -> None:
    cluster = Cluster(webapp(), None)
    cluster.release.set()
    cluster.started.set()
    records = Records(cluster)
    await get_detail(WebApp, "n", "a", cluster=cluster, records=records, now=datetime.now(UTC))
    assert records.uids == [UID]


async def test_recreated_object_is_joined_with_its_own_rows() -> None:
    new_uid = "7d5d6b6f-2222-4333-8444-a55555555555"
    cluster = Cluster(webapp(new_uid), UID)
    records = Records(cluster)
    await get_detail(WebApp, "n", "a", cluster=cluster, records=records)
    assert records.uids == [UID, new_uid]


async def test_missing_object_outranks_database_failure() -> None:
    cluster = Cluster(None, UID)
    with pytest.raises(ResourceNotFound):
        await get_detail(WebApp, "n", "a", cluster=cluster, records=Records(cluster, fail=True))


async def test_database_failure_surfaces_as_database_unavailable() -> None:
    cluster = Cluster(webapp(), UID)
    with pytest.raises(DatabaseUnavailable):
        await get_detail(WebApp, "n", "a", cluster=cluster, records=Records(cluster, fail=True))


class KeptRecords(Records):
    """A source that has ``UID``'s rows kept (as ``RepositorySource.kept_records``)."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster)
        self.kept = ResourceRecords(reconcile_error_rate=0.5)

    def kept_records(
        self, uid: str, *, history_limit: int, since: datetime
    ) -> ResourceRecords | None:
        return self.kept if uid == UID else None


async def test_kept_rows_are_used_without_a_database_read() -> None:
    cluster = Cluster(webapp(), UID)
    cluster.release.set()
    records = KeptRecords(cluster)
    view = await get_detail(WebApp, "n", "a", cluster=cluster, records=records)
    assert view.reconcile_error_rate == 0.5
    assert records.uids == []


async def test_kept_rows_of_an_older_incarnation_are_read_again() -> None:
    """The cache's UID was kept; the cluster says the object was re-created."""
    fresh = "6c4c5a5e-1111-4222-8333-944444444445"
    cluster = Cluster(webapp(fresh), UID)
    cluster.release.set()
    records = KeptRecords(cluster)
    view = await get_detail(WebApp, "n", "a", cluster=cluster, records=records)
    assert view.reconcile_error_rate is None
    assert records.uids == [fresh]
