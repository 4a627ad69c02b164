"""A list page asked again is the same bytes while nothing it shows changed: an object
event, a write of a page's records, another caller's visible namespaces or another query
each give a page rendered again."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from kubeweft.db.changes import RecordChanges
from kubeweft.views import MetricPoint
from kubeweft.views.listing import NamespaceFilter, PageMemo, list_with_metrics
from tests.support.models import CronTab

pytestmark = pytest.mark.anyio


def obj(namespace: str, name: str) -> Any:
    return SimpleNamespace(
        metadata=SimpleNamespace(namespace=namespace, name=name, uid=f"uid-{namespace}-{name}")
    )


class Cluster:
    """The cache as the memo sees it: its objects and its resourceVersion."""

    def __init__(self, objs: list[Any]) -> None:
        self.objs = objs
        self.version = 1

    def put(self, new: Any) -> None:
        self.objs = [o for o in self.objs if o.metadata.uid != new.metadata.uid] + [new]
        self.version += 1

    async def list_version(self, kind: type[Any]) -> str | None:
        return str(self.version)

    async def list(self, kind: type[Any], namespace: str | None, selector: str | None) -> list[Any]:
        return [o for o in self.objs if namespace is None or o.metadata.namespace == namespace]


class Records:
    """The database side: a change feed and one reading per UID."""

    def __init__(self) -> None:
        self.changes = RecordChanges()
        self.changes.watching(True)
        self.values: dict[str, float] = {}

    def write(self, uid: str, value: float) -> None:
        self.values[uid] = value
        self.changes.touched((uid,))

    def records_version(self) -> int | None:
        return self.changes.snapshot()

    def records_unchanged(self, uids: Sequence[str], version: int) -> bool:
        return self.changes.none_changed(uids, version)

    async def latest_metrics(self, uids: Sequence[str]) -> dict[str, Mapping[str, MetricPoint]]:
        return {u: {"cpu": MetricPoint(self.values.get(u, 0.0), None)} for u in uids}  # type: ignore[arg-type]


@pytest.fixture
def cluster() -> Cluster:
    return Cluster([obj("a", "one"), obj("a", "two"), obj("b", "three")])


@pytest.fixture
def records() -> Records:
    return Records()


async def page(
    memo: PageMemo,
    cluster: Cluster,
    records: Records,
    namespace: str | None = None,
    limit: int = 10,
    visible: frozenset[str] | None = None,
) -> bytes:
    async def render(only: NamespaceFilter | None) -> tuple[bytes, list[str]]:
        listed = await list_with_metrics(
            CronTab,
            namespace,
            None,
            limit,
            None,
            cluster=cluster,  # type: ignore[arg-type]
            records=records,  # type: ignore[arg-type]
            namespace_filter=only,
        )
        items = [
            [i.obj.metadata.namespace, i.obj.metadata.name, i.latest_metrics["cpu"].value]
            for i in listed.items
        ]
        return json.dumps(items).encode(), [i.obj.metadata.uid for i in listed.items]

    only = None
    if visible is not None:

        async def only(present: frozenset[str]) -> frozenset[str]:
            return present & visible

    return await memo.body(
        CronTab,
        (namespace, None, limit, None),
        cluster=cluster,  # type: ignore[arg-type]
        records=records,  # type: ignore[arg-type]
        namespace_filter=only,
        render=render,
    )


async def test_a_page_asked_again_is_the_same_bytes(cluster: Cluster, records: Records) -> None:
    memo = PageMemo()
    first = await page(memo, cluster, records)
    assert json.loads(first) == [["a", "one", 0.0], ["a", "two", 0.0], ["b", "three", 0.0]]
    assert await page(memo, cluster, records) is first


async def test_an_object_event_renders_the_page_again(cluster: Cluster, records: Records) -> None:
    memo = PageMemo()
    first = await page(memo, cluster, records)
    cluster.put(obj("a", "four"))
    again = await page(memo, cluster, records)
    assert again is not first
    assert ["a", "four", 0.0] in json.loads(again)


async def test_a_write_of_a_shown_uid_renders_it_again_and_others_do_not(
    cluster: Cluster, records: Records
) -> None:
    memo = PageMemo()
    first = await page(memo, cluster, records, namespace="a")
    records.write("uid-b-three", 5.0)  # not on the namespace's page: still the page
    assert await page(memo, cluster, records, namespace="a") is first
    records.write("uid-a-two", 7.0)
    again = await page(memo, cluster, records, namespace="a")
    assert json.loads(again) == [["a", "one", 0.0], ["a", "two", 7.0]]
    assert await page(memo, cluster, records, namespace="a") is again
    records.changes.everything()
    assert await page(memo, cluster, records, namespace="a") is not again


async def test_a_caller_sees_only_the_page_of_its_namespaces(
    cluster: Cluster, records: Records
) -> None:
    memo = PageMemo()
    everything = await page(memo, cluster, records)
    only_b = await page(memo, cluster, records, visible=frozenset({"b"}))
    assert json.loads(only_b) == [["b", "three", 0.0]]
    only_a = await page(memo, cluster, records, visible=frozenset({"a"}))
    assert json.loads(only_a) == [["a", "one", 0.0], ["a", "two", 0.0]]
    assert await page(memo, cluster, records, visible=frozenset({"b"})) is only_b
    assert await page(memo, cluster, records) is everything


async def test_another_query_is_another_page(cluster: Cluster, records: Records) -> None:
    memo = PageMemo()
    first = await page(memo, cluster, records)
    shorter = await page(memo, cluster, records, limit=1)
    assert json.loads(shorter) == [["a", "one", 0.0]]
    assert await page(memo, cluster, records, namespace="b") not in (first, shorter)


async def test_nothing_is_kept_without_a_live_change_feed(
    cluster: Cluster, records: Records
) -> None:
    memo = PageMemo()
    records.changes.watching(False)
    first = await page(memo, cluster, records)
    again = await page(memo, cluster, records)
    assert again == first
    assert again is not first


async def test_the_newest_queries_are_kept(cluster: Cluster, records: Records) -> None:
    memo = PageMemo(capacity=1)
    first = await page(memo, cluster, records, namespace="a")
    await page(memo, cluster, records, namespace="b")
    assert await page(memo, cluster, records, namespace="a") is not first
