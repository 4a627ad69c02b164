"""The dashboard table's index of one model's objects, kept up to date from informer events.

``query_table`` on its own reads every object of the model on every request: the
namespace check, the filters and the sort key of 10,000 objects, to show 50. Here those
answers are kept between requests and changed only when an object changes, the way the
API server keeps its watch cache instead of reading etcd per list:

* one *row* per object version: its namespace/name, its search text, its health score
  and (memoised on first use) the value of each field a table asked about. A new version
  from the informer is a new row, so nothing cached outlives the object it describes;
* per field a table has sorted or filtered by (built on first use, then kept): the rows
  in that field's sort order (value, then namespace/name; blanks apart) and the rows per
  value's text (an equality filter is one dict lookup);
* a count of objects per namespace (the namespaces offered to the RBAC filter, and the
  total of a page that only a namespace restriction narrows);
* the pages asked for since the last change (an open table page fetches itself again
  after every change event, and every open copy of it asks the same), and the whole
  order of a query whose later pages were asked (paging through a table walks the
  order once, not once per page): any event that changes a row forgets them all.

A request then costs about the rows it shows: the filter's matching set, or a walk down
the sort order until the page is full. The order and the rows are exactly those of the
straightforward ``query_table`` (sort stable by namespace/name, blanks last, the
namespace filter applied before paging); ``tests/unit/views/test_tableindex.py`` checks
it against that on random data with updates and deletes.

The index is an informer event handler: the informer calls it on its own event loop, so
a request never sees it half updated. ``CacheReader.table_index`` creates a model's
index on the first request for it (the informer replays its store to a new handler),
after the same read-your-writes wait as its ``list``; a process whose dashboard nobody
opens pays nothing.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from kubeweft.views.detail import score_of
from kubeweft.views.table import HEALTH, SortKey, object_value, sort_key, value_text

__all__ = ["IndexedInformer", "TableIndex", "TableIndexes"]

_Key = tuple[str, str]  # (namespace or "", name): the tie-break of every order
_PAGES_KEPT = 64
_ORDERS_KEPT = 16


class Row:
    """One object version and what tables ask of it, each computed once."""

    __slots__ = ("health", "key", "namespace", "obj", "search", "values")

    def __init__(self, obj: Any) -> None:
        meta = obj.metadata
        self.obj = obj
        self.namespace: str | None = meta.namespace
        self.key: _Key = (meta.namespace or "", meta.name)
        self.search = f"{meta.namespace or ''}/{meta.name}".lower()
        self.health = score_of(obj, None)
        self.values: dict[str, Any] = {}

    def value(self, field: str) -> Any:
        try:
            return self.values[field]
        except KeyError:
            found = self.health if field == HEALTH else object_value(self.obj, field)
            self.values[field] = found
            return found


class FieldIndex:
    """One field's sort order and value→rows map over every row."""

    def __init__(self, field: str) -> None:
        self.field = field
        #: Rows with a value, ordered by (sort key, namespace, name).
        self.ordered: list[tuple[SortKey, str, str]] = []
        #: Rows without a value, by namespace/name (always shown last).
        self.blanks: list[_Key] = []
        self.by_text: dict[str, set[_Key]] = {}

    def fill(self, rows: Mapping[_Key, Row]) -> None:
        for row in rows.values():
            value = row.value(self.field)
            self.by_text.setdefault(value_text(value), set()).add(row.key)
            if value is None:
                self.blanks.append(row.key)
            else:
                self.ordered.append((sort_key(value), *row.key))
        self.ordered.sort()
        self.blanks.sort()

    def add(self, row: Row) -> None:
        value = row.value(self.field)
        self.by_text.setdefault(value_text(value), set()).add(row.key)
        if value is None:
            insort(self.blanks, row.key)
        else:
            insort(self.ordered, (sort_key(value), *row.key))

    def remove(self, row: Row) -> None:
        value = row.value(self.field)  # memoised when the row was added
        text = value_text(value)
        keys = self.by_text.get(text)
        if keys is not None:
            keys.discard(row.key)
            if not keys:
                del self.by_text[text]
        if value is None:
            _discard(self.blanks, row.key)
        else:
            _discard(self.ordered, (sort_key(value), *row.key))

    def walk(self, descending: bool) -> Iterator[_Key]:
        """Every key in the table's order: values ascending or descending (equal values
        by namespace/name either way), then the blanks."""
        ordered = self.ordered
        if not descending:
            for _, namespace, name in ordered:
                yield (namespace, name)
        else:
            end = len(ordered)
            while end:
                start = bisect_left(ordered, (ordered[end - 1][0],))  # the run of equal values
                for _, namespace, name in ordered[start:end]:
                    yield (namespace, name)
                end = start
        yield from self.blanks


def _discard(ordered: list[Any], item: Any) -> None:
    at = bisect_left(ordered, item)
    if at < len(ordered) and ordered[at] == item:
        del ordered[at]


class TableIndex:
    """Rows and field indexes of one model; an informer event handler."""

    def __init__(self) -> None:
        self.rows: dict[_Key, Row] = {}
        self.namespaces: Counter[str | None] = Counter()
        self._fields: dict[str, FieldIndex] = {}
        #: page() answers since the last change, by their arguments.
        self._pages: dict[tuple[Any, ...], tuple[list[Row], int, int, int]] = {}
        #: Every key a query matches, in its order, since the last change (asked for
        #: pages after the first), by the query's arguments without page and size.
        self._orders: dict[tuple[Any, ...], list[_Key]] = {}

    # --- the informer's handler -------------------------------------------------------
    def on_add(self, obj: Any, is_initial_list: bool) -> None:
        self._put(obj)

    def on_update(self, old: Any, new: Any) -> None:
        self._put(new)

    def on_delete(self, obj: Any) -> None:
        meta = obj.metadata
        row = self.rows.pop((meta.namespace or "", meta.name), None)
        if row is not None:
            self._unindex(row)
            self._changed()

    def _put(self, obj: Any) -> None:
        row = Row(obj)
        old = self.rows.get(row.key)
        if old is not None:
            if old.obj is obj:  # a resync hands the same object again
                return
            self._unindex(old)
        self._changed()
        self.rows[row.key] = row
        self.namespaces[row.namespace] += 1
        for index in self._fields.values():
            index.add(row)

    def _changed(self) -> None:
        self._pages.clear()
        self._orders.clear()

    def _unindex(self, row: Row) -> None:
        self.namespaces[row.namespace] -= 1
        if not self.namespaces[row.namespace]:
            del self.namespaces[row.namespace]
        for index in self._fields.values():
            index.remove(row)

    # --- reads ------------------------------------------------------------------------
    def field(self, name: str) -> FieldIndex:
        index = self._fields.get(name)
        if index is None:
            index = self._fields[name] = FieldIndex(name)
            index.fill(self.rows)
        return index

    def page(
        self,
        *,
        sort: str,
        descending: bool,
        filters: tuple[tuple[str, str], ...],
        search: str,
        namespaces: frozenset[str | None],
        page: int,
        size: int,
    ) -> tuple[list[Row], int, int, int]:
        """Rows of page ``page`` (clamped), the total and the page count, among objects
        of ``namespaces`` matching every filter and the (lower-case) search text."""
        asked = (sort, descending, filters, search, namespaces, page, size)
        answer = self._pages.get(asked)
        if answer is None:
            answer = self._page(sort, descending, filters, search, namespaces, page, size)
            self._pages[asked] = answer
            if len(self._pages) > _PAGES_KEPT:
                del self._pages[next(iter(self._pages))]  # the oldest
        rows, total, page, pages = answer
        return list(rows), total, page, pages

    def _page(
        self,
        sort: str,
        descending: bool,
        filters: tuple[tuple[str, str], ...],
        search: str,
        namespaces: frozenset[str | None],
        page: int,
        size: int,
    ) -> tuple[list[Row], int, int, int]:
        every_namespace = namespaces.issuperset(self.namespaces)
        selected: set[_Key] | None = None
        if filters or search:
            candidates: set[_Key] | None = None
            matches = [self.field(name).by_text.get(wanted, set()) for name, wanted in filters]
            for matching in sorted(matches, key=len):  # the smallest set first
                candidates = matching if candidates is None else candidates & matching
            rows = self.rows
            if candidates is not None and every_namespace and not search:
                selected = candidates  # read only
            else:
                selected = {
                    key
                    for key in (rows.keys() if candidates is None else candidates)
                    if (every_namespace or rows[key].namespace in namespaces)
                    and (not search or search in rows[key].search)
                }
            total = len(selected)
        elif every_namespace:
            total = len(self.rows)
        else:
            total = sum(self.namespaces[ns] for ns in namespaces if ns in self.namespaces)
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        first, wanted_rows = (page - 1) * size, min(size, total - (page - 1) * size)
        index = self.field(sort)
        keys: list[_Key] = []
        if wanted_rows <= 0:
            pass
        elif first:  # a later page: slice the query's whole order, kept
            asked = (sort, descending, filters, search, namespaces)
            order = self._orders.get(asked)
            if order is None:
                order = self._order(selected, index, descending, every_namespace, namespaces)
                self._orders[asked] = order
                if len(self._orders) > _ORDERS_KEPT:
                    del self._orders[next(iter(self._orders))]  # the oldest
            keys = order[first : first + wanted_rows]
        elif selected is not None and _cheaper_to_sort(page * size, len(self.rows), total):
            keys = self._sorted(selected, index, descending)[first : first + size]
        else:
            skipped = 0
            for key in index.walk(descending):
                if selected is not None:
                    if key not in selected:
                        continue
                elif not every_namespace and self.rows[key].namespace not in namespaces:
                    continue
                if skipped < first:
                    skipped += 1
                    continue
                keys.append(key)
                if len(keys) >= wanted_rows:
                    break
        return [self.rows[key] for key in keys], total, page, pages

    def _order(
        self,
        selected: set[_Key] | None,
        index: FieldIndex,
        descending: bool,
        every_namespace: bool,
        namespaces: frozenset[str | None],
    ) -> list[_Key]:
        """Every key the query matches, in the table's order."""
        if selected is not None and _cheaper_to_sort(len(selected), len(self.rows), len(selected)):
            return self._sorted(selected, index, descending)
        if selected is not None:
            return [key for key in index.walk(descending) if key in selected]
        if every_namespace:
            return list(index.walk(descending))
        rows = self.rows
        return [key for key in index.walk(descending) if rows[key].namespace in namespaces]

    def _sorted(self, keys: set[_Key], index: FieldIndex, descending: bool) -> list[_Key]:
        rows = [self.rows[key] for key in sorted(keys)]
        valued = [(r.value(index.field), r) for r in rows]
        blanks = [r.key for v, r in valued if v is None]
        ordered = [(v, r) for v, r in valued if v is not None]
        ordered.sort(key=lambda vr: sort_key(vr[0]), reverse=descending)
        return [r.key for _, r in ordered] + blanks


def _cheaper_to_sort(needed: int, objects: int, matching: int) -> bool:
    """Sorting the m matches costs about m·log m; walking the field's order until the
    page is full passes about needed·objects/m rows."""
    if matching <= 1:
        return True
    return needed * objects / matching > matching * math.log2(matching)


@runtime_checkable
class IndexedInformer(Protocol):
    """What the index needs of ``kubeweft.runtime.informer.SharedInformer``."""

    def add_event_handler(self, handler: Any) -> None: ...

    def has_synced(self) -> bool: ...


class TableIndexes:
    """The table index of each model, created on first use from the model's informer
    (``CacheReader.table_index`` keeps one of these)."""

    def __init__(self) -> None:
        self._indexes: dict[type[Any], TableIndex] = {}

    def of(self, model: type[Any], informer: Any) -> TableIndex | None:
        """``model``'s index; None when ``informer`` cannot feed one or has not synced
        (the caller then reads the cache, which waits for it)."""
        if not isinstance(informer, IndexedInformer) or not informer.has_synced():
            return None
        index = self._indexes.get(model)
        if index is None:
            index = self._indexes[model] = TableIndex()
            informer.add_event_handler(index)  # replays the informer's store as adds
        return index
