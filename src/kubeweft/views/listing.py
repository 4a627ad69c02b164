"""A page of objects from the cache, each with its latest metrics.

The seed's ListResourcesWithMetrics asks the database once per item; here the page is
cut first (so the database is asked only about what is shown) and the latest samples
for all its UIDs come from one batched query — the statement count does not grow with
the page.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kubeweft.runtime.objects import kind_info
from kubeweft.views.detail import score_of
from kubeweft.views.pagination import paginate, query_digest
from kubeweft.views.reader import ClusterReader
from kubeweft.views.records import MetricPoint, RecordSource

__all__ = ["ListItem", "ListPage", "NamespaceFilter", "PageMemo", "list_with_metrics"]

NamespaceFilter = Callable[[frozenset[str]], Awaitable[frozenset[str]]]
#: Renders a page with the namespace filter given: its body and its items' UIDs.
Render = Callable[[NamespaceFilter | None], Awaitable[tuple[bytes, Sequence[str]]]]


@dataclass(frozen=True)
class ListItem:
    obj: Any
    #: Newest sample per metric name (read-only; see ``RecordSource.latest_metrics``).
    latest_metrics: Mapping[str, MetricPoint]
    #: The health score when the caller has it at hand (a table index keeps it); None:
    #: ``health_score`` computes it from ``obj`` when asked. A REST list body takes it
    #: from its per-version cache instead (``rest.bodies``), so a page computes none.
    known_score: int | None = None
    #: A project's own members of the body (``views.detail_fields``), in wire form.
    fields: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def health_score(self) -> int:
        return self.known_score if self.known_score is not None else score_of(self.obj, None)


@dataclass(frozen=True)
class ListPage:
    items: list[ListItem]
    continue_token: str | None


def _order(obj: Any) -> tuple[str, str]:
    return (obj.metadata.namespace or "", obj.metadata.name or "")


async def list_with_metrics(
    model: type[Any],
    namespace: str | None,
    label_selector: str | None,
    limit: int | None,
    continue_token: str | None,
    *,
    cluster: ClusterReader,
    records: RecordSource,
    namespace_filter: Callable[[frozenset[str]], Awaitable[frozenset[str]]] | None = None,
) -> ListPage:
    """One page ordered by namespace/name.

    ``namespace_filter`` gets the namespaces present and returns those the caller may
    see (authorization of an all-namespace list); it runs before the page is cut, so
    hidden objects never shift page boundaries or leak through ``continue``.
    """
    objs = await cluster.list(model, namespace, label_selector)
    if namespace_filter is not None:
        allowed = await namespace_filter(frozenset(o.metadata.namespace for o in objs))
        objs = [obj for obj in objs if obj.metadata.namespace in allowed]
    digest = query_digest(kind_info(model).plural, namespace, label_selector)
    page = paginate(objs, _order, limit=limit, continue_token=continue_token, digest=digest)
    uids = [obj.metadata.uid for obj in page.items]
    latest = await records.latest_metrics(uids) if uids else {}
    items = [ListItem(obj, latest.get(obj.metadata.uid, {})) for obj in page.items]
    return ListPage(items, page.continue_token)


class _KeptPage:
    __slots__ = ("body", "records", "uids")

    def __init__(self, body: bytes, records: int, uids: Sequence[str]) -> None:
        self.body, self.records, self.uids = body, records, uids


class _KeptQuery:
    __slots__ = ("objects", "pages", "present")

    def __init__(self, objects: str, present: frozenset[str] | None) -> None:
        self.objects = objects
        self.present = present
        #: Per set of namespaces the caller may see (None: all of them).
        self.pages: OrderedDict[frozenset[str] | None, _KeptPage] = OrderedDict()


class PageMemo:
    """The encoded pages of one model's list, kept while nothing they show changed.

    A list asked again (a poller, a dashboard's refresh, every open copy of it) is the
    same bytes as long as the cache of the model saw no event (its resourceVersion, read
    after this process's own writes reached it, as ``list`` waits) and no row of the
    page's UIDs was written (the record change feed). A page is kept per query (the
    caller's namespace, selector, limit and ``continue``) and per set of namespaces the
    caller may see, which the namespace filter gives again on every request; the access
    check of the route runs before, as for any list. Without a synced cache or a live
    change feed nothing is kept. The newest ``capacity`` queries are kept.
    """

    def __init__(self, capacity: int = 64, rights_per_query: int = 8) -> None:
        self._capacity = capacity
        self._rights = rights_per_query
        self._kept: OrderedDict[Hashable, _KeptQuery] = OrderedDict()

    async def body(
        self,
        model: type[Any],
        query: Hashable,
        *,
        cluster: ClusterReader,
        records: RecordSource,
        namespace_filter: NamespaceFilter | None,
        render: Render,
    ) -> bytes:
        list_version = getattr(cluster, "list_version", None)
        records_version = getattr(records, "records_version", None)
        records_unchanged = getattr(records, "records_unchanged", None)
        objects = None if list_version is None else await list_version(model)
        version = None if records_version is None else records_version()
        if objects is None or version is None or records_unchanged is None:
            return (await render(namespace_filter))[0]
        kept = self._kept.get(query)
        if kept is None or kept.objects != objects:
            kept = self._kept[query] = _KeptQuery(objects, None)
            if len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        self._kept.move_to_end(query)
        if namespace_filter is None or kept.present is not None:
            allowed = None
            if namespace_filter is not None and kept.present is not None:
                allowed = await namespace_filter(kept.present)
            page = kept.pages.get(allowed)
            if page is not None and (
                page.records == version or records_unchanged(page.uids, page.records)
            ):
                page.records = version
                return page.body
        seen: dict[str, frozenset[str]] = {}
        only = namespace_filter
        if namespace_filter is not None:
            outer = namespace_filter

            async def only(present: frozenset[str]) -> frozenset[str]:
                seen["present"] = present
                seen["allowed"] = allowed = await outer(present)
                return allowed

        body, uids = await render(only)
        if namespace_filter is None or "allowed" in seen:
            key = seen.get("allowed")
            if "present" in seen:
                kept.present = seen["present"]
            kept.pages[key] = _KeptPage(body, version, tuple(uids))
            kept.pages.move_to_end(key)
            if len(kept.pages) > self._rights:
                kept.pages.popitem(last=False)
        return body
