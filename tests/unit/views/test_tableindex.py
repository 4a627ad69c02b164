"""TableIndex: the same pages as the straightforward query_table, kept from informer events.

Random objects of three models (WebApp; the test-only CronTab, whose fields mix enums,
booleans, optional floats and int-or-string values; the cluster-scoped Zone) are added,
replaced, handed again by a resync and deleted, while random queries — any declared
field sorted either way, filters, search, a namespace, an RBAC namespace filter, any
page and page size — are answered with and without the index and compared.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1alpha1 import WebApp
from kubeweft.views import CacheReader, WriteTracker
from kubeweft.views.records import MetricPoint
from kubeweft.views.table import (
    TableQuery,
    UnknownField,
    field_value,
    object_value,
    query_table,
    table_cells,
    table_fields,
)
from tests.support.models import CronTab, Zone

pytestmark = pytest.mark.anyio

NAMESPACES = ("alpha", "beta", "gamma", "delta")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Informer:
    """An informer's store and handlers; also the cluster reader of the plain query."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str | None, str], Any] = {}
        self.handlers: list[Any] = []
        self.version = 0

    def add_event_handler(self, handler: Any) -> None:
        self.handlers.append(handler)
        for obj in list(self.objects.values()):
            handler.on_add(obj, True)

    def has_synced(self) -> bool:
        return True

    async def wait_for_resource_version(self, resource_version: str, timeout: float) -> bool:  # noqa: ASYNC109
        return True

    def put(self, obj: Any) -> None:
        self.version += 1
        obj.metadata.resourceVersion = str(self.version)
        key = (obj.metadata.namespace, obj.metadata.name)
        old = self.objects.get(key)
        self.objects[key] = obj
        for handler in self.handlers:
            if old is None:
                handler.on_add(obj, False)
            else:
                handler.on_update(old, obj)

    def resync(self, key: tuple[str | None, str]) -> None:
        for handler in self.handlers:
            handler.on_update(self.objects[key], self.objects[key])

    def delete(self, key: tuple[str | None, str]) -> None:
        obj = self.objects.pop(key)
        for handler in self.handlers:
            handler.on_delete(obj)

    def list(self, namespace: str | None = None, label_selector: Any = None) -> list[Any]:
        return [o for o in self.objects.values() if namespace in (None, o.metadata.namespace)]

    def get(self, namespace: str | None, name: str) -> Any | None:
        return self.objects.get((namespace, name))


class Cache:
    """The ``Cache`` a ``CacheReader`` reads, over one informer."""

    def __init__(self, informer: Informer) -> None:
        self.informer = informer

    def informer_for(self, kind: type[Any]) -> Informer:
        return self.informer

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any:
        raise NotImplementedError

    async def list(
        self, kind: type[Any], namespace: str | None = None, label_selector: Any = None
    ) -> list[Any]:
        raise NotImplementedError

    async def wait_for_resource_version(self, kind: type[Any], rv: str, timeout: float) -> bool:  # noqa: ASYNC109
        return True


class Plain:
    """A cluster reader without a table index: query_table reads every object."""

    def __init__(self, informer: Informer) -> None:
        self.informer = informer

    async def list(self, kind: type[Any], namespace: str | None, selector: Any) -> list[Any]:
        return self.informer.list(namespace)

    async def get(self, kind: type[Any], namespace: str | None, name: str) -> Any:
        raise NotImplementedError

    def peek_uid(self, kind: type[Any], namespace: str | None, name: str) -> str | None:
        return None


def readers(informer: Informer) -> tuple[Plain, CacheReader]:
    return Plain(informer), CacheReader(
        Cache(informer), Cache(informer), WriteTracker(), timeout=0.1
    )


class Records:
    async def resource_records(self, uid: str, *, history_limit: int, since: datetime) -> Any:
        raise NotImplementedError

    async def latest_metrics(self, uids: Sequence[str]) -> dict[str, dict[str, MetricPoint]]:
        return {u: {"cpu": MetricPoint(float(len(u)), EPOCH)} for u in uids}


def _meta(rng: random.Random, name: str, namespace: str | None) -> ObjectMeta:
    return ObjectMeta(
        name=name,
        namespace=namespace,
        uid=f"uid-{namespace}-{name}-{rng.random()}",
        creationTimestamp=EPOCH + timedelta(minutes=rng.randrange(5)),
        labels={"tier": rng.choice(("web", "db"))},
    )


def webapp(rng: random.Random, name: str, namespace: str | None) -> WebApp:
    ready = rng.choice(("True", "False", None))
    conditions = [] if ready is None else [
        {"type": "Ready", "status": ready, "reason": "R", "lastTransitionTime": EPOCH}
    ]  # fmt: skip
    return WebApp.model_validate(
        {
            "metadata": _meta(rng, name, namespace).model_dump(by_alias=True),
            "spec": {
                "image": rng.choice(("nginx:1.1", "nginx:1.2", "caddy:2")),
                "replicas": rng.randrange(4),
            },
            "status": {
                "readyReplicas": rng.randrange(4),
                "replicas": rng.randrange(4),
                "serviceName": rng.choice((None, "svc-a", "svc-b")),
                "conditions": conditions,
            },
        }
    )


def crontab(rng: random.Random, name: str, namespace: str | None) -> CronTab:
    spec = {
        "schedule": {"cron": rng.choice(("*/5 * * * *", "0 * * * *"))},
        "containers": [{"name": "main", "image": "busybox"}],
        "concurrencyPolicy": rng.choice(("Allow", "Forbid", "Replace")),
        "suspend": rng.random() < 0.5,
        "historyLimit": rng.randrange(4),
        "deadlineSeconds": rng.choice((None, 1.5, 2.0, 10.0)),
        "metricsPort": rng.choice((None, 80, 8080, "http", "metrics")),
    }
    return CronTab.model_validate(
        {"metadata": _meta(rng, name, namespace).model_dump(by_alias=True), "spec": spec}
    )


def zone(rng: random.Random, name: str, namespace: str | None) -> Zone:
    return Zone.model_validate(
        {
            "metadata": _meta(rng, name, None).model_dump(by_alias=True),
            "spec": {"capacity": rng.randrange(1, 4), "description": rng.choice(("", "x", "y"))},
            "status": {"used": rng.randrange(3)},
        }
    )


def _random_query(rng: random.Random, model: type[Any], informer: Informer) -> TableQuery:
    fields = table_fields(model)
    filters: list[tuple[str, str]] = []
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        field = rng.choice(fields)
        sample = rng.choice(list(informer.objects.values()) or [None])
        value = object_value(sample, field) if sample is not None else None
        text = (
            ""
            if value is None
            else ("true" if value is True else "false" if value is False else str(value))
        )
        filters.append((field, rng.choice((text, text, "no-such-value"))))
    search = rng.choice(("", "", "", "a", "1", "ALPHA/", " 2 ", "zz"))
    return TableQuery(
        sort=rng.choice(fields),
        descending=rng.random() < 0.5,
        filters=tuple(filters),
        search=search,
        page=rng.choice((1, 1, 2, 3, 9, 1000)),
        size=rng.choice((1, 3, 7, 50)),
    )


def _shown(page: Any) -> list[tuple[Any, ...]]:
    return [
        (
            i.obj.metadata.namespace,
            i.obj.metadata.name,
            i.obj.metadata.resourceVersion,
            i.health_score,
            i.latest_metrics,
        )
        for i in page.items
    ]


MODELS: list[tuple[type[Any], Callable[[random.Random, str, str | None], Any]]] = [
    (WebApp, webapp),
    (CronTab, crontab),
    (Zone, zone),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("model", "make"), MODELS, ids=[m.__name__ for m, _ in MODELS])
async def test_pages_match_the_plain_query_through_adds_updates_and_deletes(
    model: type[Any], make: Callable[[random.Random, str, str | None], Any], seed: int
) -> None:
    rng = random.Random(seed)
    informer, records = Informer(), Records()
    namespaced = model.model_info.namespaced

    def some_key() -> tuple[str | None, str]:
        namespace = rng.choice(NAMESPACES) if namespaced else None
        return (namespace, f"obj-{rng.randrange(60):02d}")

    for _ in range(40):  # before the index exists: replayed to it as adds
        namespace, name = some_key()
        informer.put(make(rng, name, namespace))
    plain_reader, indexed_reader = readers(informer)
    compared = 0
    for step in range(160):
        action = rng.random()
        if action < 0.45 or not informer.objects:
            namespace, name = some_key()
            informer.put(make(rng, name, namespace))  # an add, or a new version
        elif action < 0.55:
            informer.resync(rng.choice(list(informer.objects)))
        else:
            informer.delete(rng.choice(list(informer.objects)))
        if step % 4:
            continue
        assert await indexed_reader.table_index(model) is not None
        for _ in range(6):
            query = _random_query(rng, model, informer)
            namespace = rng.choice((None, None, *NAMESPACES)) if namespaced else None
            hidden = frozenset(rng.sample(NAMESPACES, rng.randrange(3)))

            async def only(
                present: frozenset[str], hidden: frozenset[str] = hidden
            ) -> frozenset[str]:
                return present - hidden

            namespace_filter = rng.choice((None, only)) if namespaced else None
            arguments: dict[str, Any] = {"records": records, "namespace_filter": namespace_filter}
            plain = await query_table(model, namespace, query, cluster=plain_reader, **arguments)
            indexed = await query_table(
                model, namespace, query, cluster=indexed_reader, **arguments
            )
            assert (indexed.total, indexed.page, indexed.pages) == (
                plain.total,
                plain.page,
                plain.pages,
            ), query
            assert _shown(indexed) == _shown(plain), query
            compared += 1
    assert compared == 40 * 6


async def test_a_large_filtered_page_is_walked_and_sorted_alike() -> None:
    """Both ways of ordering a filtered set — walking the field's order until the page is
    full, and sorting the matches — are taken (by size) and agree with the plain query."""
    rng = random.Random(7)
    informer, records = Informer(), Records()
    for i in range(600):
        informer.put(webapp(rng, f"app-{i:03d}", NAMESPACES[i % 4]))
    plain_reader, indexed_reader = readers(informer)
    for page in (1, 2, 5, 40):  # early pages walk; the last ones sort the matches
        for descending in (False, True):
            query = TableQuery(
                sort="spec.replicas",
                descending=descending,
                filters=(("spec.image", "nginx:1.1"),),
                page=page,
                size=5,
            )
            plain = await query_table(WebApp, None, query, cluster=plain_reader, records=records)
            indexed = await query_table(
                WebApp, None, query, cluster=indexed_reader, records=records
            )
            assert _shown(indexed) == _shown(plain)
            assert indexed.total == plain.total > 100


async def test_a_page_asked_again_after_any_change_is_the_new_page() -> None:
    """The index remembers the pages asked since the last change: the same question after
    an add, a new version, a delete or a resync is answered as the plain query answers it."""
    rng = random.Random(11)
    informer, records = Informer(), Records()
    for i in range(120):
        informer.put(webapp(rng, f"app-{i:03d}", NAMESPACES[i % 4]))
    plain_reader, indexed_reader = readers(informer)
    query = TableQuery(
        sort="spec.replicas", descending=True, filters=(("spec.image", "nginx:1.2"),), size=7
    )
    shown = await query_table(WebApp, None, query, cluster=indexed_reader, records=records)
    first = shown.items[0].obj
    moved = webapp(rng, first.metadata.name, first.metadata.namespace)
    moved.spec.image, moved.spec.replicas = "nginx:1.2", 0  # to the end of the order
    changes: list[Callable[[], None]] = [
        lambda: informer.put(moved),
        lambda: informer.put(webapp(rng, "app-new", "alpha")),
        lambda: informer.delete(next(iter(informer.objects))),
        lambda: informer.resync(next(iter(informer.objects))),
    ]
    for change in changes:
        asked = await query_table(WebApp, None, query, cluster=indexed_reader, records=records)
        change()
        plain = await query_table(WebApp, None, query, cluster=plain_reader, records=records)
        indexed = await query_table(WebApp, None, query, cluster=indexed_reader, records=records)
        assert (_shown(indexed), indexed.total) == (_shown(plain), plain.total)
        if change is changes[0]:
            assert first not in [item.obj for item in indexed.items]  # moved to the end
            assert _shown(indexed) != _shown(asked)


async def test_later_pages_after_any_change_are_the_new_order() -> None:
    """The index keeps a query's whole order once a later page is asked (each further
    page is a slice of it): after an add, a new version, a delete or a resync, the pages
    are the plain query's again."""
    rng = random.Random(13)
    informer, records = Informer(), Records()
    for i in range(300):
        informer.put(webapp(rng, f"app-{i:03d}", NAMESPACES[i % 4]))
    plain_reader, indexed_reader = readers(informer)

    async def pages(reader: Any, **query: Any) -> list[Any]:
        shown = []
        for page in (2, 3, 4):
            asked = TableQuery(sort="spec.replicas", size=7, page=page, **query)
            table = await query_table(WebApp, None, asked, cluster=reader, records=records)
            shown.append((_shown(table), table.total))
        return shown

    queries: list[dict[str, Any]] = [
        {"descending": True, "filters": (("spec.image", "nginx:1.2"),)},  # a filtered set
        {"descending": False},  # every object
        {"descending": True, "search": "alpha"},  # a search
    ]
    moved = webapp(rng, "app-010", NAMESPACES[10 % 4])
    moved.spec.image, moved.spec.replicas = "nginx:1.2", 9
    changes: list[Callable[[], None]] = [
        lambda: informer.put(moved),
        lambda: informer.put(webapp(rng, "app-new", "alpha")),
        lambda: informer.delete(next(iter(informer.objects))),
        lambda: informer.resync(next(iter(informer.objects))),
    ]
    for change in changes:
        for query in queries:
            assert await pages(indexed_reader, **query) == await pages(plain_reader, **query)
        change()
        for query in queries:
            assert await pages(indexed_reader, **query) == await pages(plain_reader, **query)


async def test_an_undeclared_field_is_refused_with_the_index_too() -> None:
    informer = Informer()
    _, indexed_reader = readers(informer)
    with pytest.raises(UnknownField):
        await query_table(
            WebApp,
            None,
            TableQuery(sort="spec.nope"),
            cluster=indexed_reader,
            records=Records(),
        )


@pytest.mark.parametrize(("model", "make"), MODELS, ids=[m.__name__ for m, _ in MODELS])
async def test_table_cells_are_the_wire_values(
    model: type[Any], make: Callable[[random.Random, str, str | None], Any]
) -> None:
    """The table's cells are read from attributes; they equal the wire form's values,
    for every declared field and for a path holding an object (serialised then)."""
    rng = random.Random(3)
    paths = [f for f in table_fields(model) if f != "health"] + ["spec", "metadata.labels"]
    for i in range(30):
        obj = make(rng, f"obj-{i}", "alpha")
        wire = obj.to_dict()
        assert table_cells(obj, paths) == [field_value(wire, p) for p in paths]
        scalars = paths[:-2]
        assert table_cells(obj, scalars) == [field_value(wire, p) for p in scalars]
