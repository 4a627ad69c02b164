"""A page of objects from the cache, each with its latest metrics.

The seed's ListResourcesWithMetrics asks the database once per item; here the page is
cut first (so the database is asked only about what is shown) and the latest samples
for all its UIDs come from one batched query — the statement count does not grow with
the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kubeweft.runtime.objects import kind_info
from kubeweft.views.detail import score_of
from kubeweft.views.pagination import paginate, query_digest
from kubeweft.views.reader import ClusterReader
from kubeweft.views.records import MetricPoint, RecordSource

__all__ = ["ListItem", "ListPage", "list_with_metrics"]


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
