"""A sorted, filtered, searched page of one model's objects, for people reading a table.

The REST list pages by ``continue`` token in namespace/name order, which suits
scripts. A person wants to sort by a column, narrow by a field's value and jump to page
N, so this view works on the same cache read (and the same namespace filter, applied
before anything else, so hidden objects never shift a page) but orders by any declared
field: metadata name and namespace, the model's printer columns, its scalar spec and
status fields, and the health score. Only the page shown is joined with the database
(its latest metrics, one batched query).
"""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Union, get_args, get_origin, runtime_checkable

from pydantic import BaseModel

from kubeweft.views.detail import score_of
from kubeweft.views.listing import ListItem
from kubeweft.views.reader import ClusterReader
from kubeweft.views.records import RecordSource

if TYPE_CHECKING:
    from kubeweft.views.tableindex import TableIndex

__all__ = [
    "HEALTH",
    "IndexedReader",
    "SortKey",
    "TablePage",
    "TableQuery",
    "field_value",
    "object_value",
    "query_table",
    "sort_key",
    "table_cells",
    "table_fields",
    "value_text",
]

#: The pseudo-field sorting and filtering by health score.
HEALTH = "health"
_SCALARS = (str, int, float, bool)


@runtime_checkable
class IndexedReader(Protocol):
    """A cluster reader that also offers each model's table index (``CacheReader``)."""

    async def table_index(self, kind: type[Any]) -> TableIndex | None: ...


@dataclass(frozen=True)
class TableQuery:
    sort: str = "metadata.name"
    descending: bool = False
    #: (field, value) pairs an object must all match (the value as text, exactly).
    filters: tuple[tuple[str, str], ...] = ()
    #: Case-insensitive substring of the name or namespace.
    search: str = ""
    page: int = 1
    size: int = 50


@dataclass(frozen=True)
class TablePage:
    items: list[ListItem]
    total: int
    page: int
    pages: int


class UnknownField(ValueError):
    """A sort or filter names a field the model does not declare."""

    def __init__(self, where: str, field: str) -> None:
        super().__init__(f"{where}: {field!r} is not a field of this model")
        self.where = where
        self.field = field


def _scalar(annotation: Any) -> bool:
    if annotation in _SCALARS:
        return True
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return all(_scalar(arg) or arg is type(None) for arg in get_args(annotation))
    if origin is not None and str(origin).endswith("Annotated"):
        return _scalar(get_args(annotation)[0])
    return isinstance(annotation, type) and issubclass(annotation, (str, int, float))


def _scalar_fields(prefix: str, cls: Any) -> list[str]:
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return []
    return [
        f"{prefix}.{info.alias or name}"
        for name, info in cls.model_fields.items()
        if _scalar(info.annotation)
    ]


def table_fields(model: type[Any]) -> list[str]:
    """Every field a table of ``model`` can sort and filter by, in wire (camelCase) paths."""
    found = _FIELDS.get(model)
    if found is None:
        found = _FIELDS[model] = _declared_fields(model)
    return list(found)


def _declared_fields(model: type[Any]) -> list[str]:
    info = model.model_info
    declared = ["metadata.name"] + (["metadata.namespace"] if info.namespaced else [])
    declared += [column.json_path.lstrip(".") for column in info.printer_columns]
    fields = getattr(model, "model_fields", {})
    for part in ("spec", "status"):
        if part in fields:
            declared += _scalar_fields(part, fields[part].annotation)
    declared.append(HEALTH)
    return list(dict.fromkeys(declared))  # declaration order, each once


_FIELDS: dict[type[Any], list[str]] = {}  # per model class, as _ALIASES per pydantic class


def field_value(wire: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of an object's wire form (None when absent)."""
    value: Any = wire
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


SortKey = tuple[int, float, str]


def sort_key(value: Any) -> SortKey:
    """Numbers (and booleans) before text, each in its natural order."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, int | float) and not math.isnan(value):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def value_text(value: Any) -> str:
    """A value as a filter compares it (``true``/``false``, blank for None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _aliases(cls: type[BaseModel]) -> dict[str, str]:
    """Wire name → attribute name of a pydantic class's fields (cached per class)."""
    found = _ALIASES.get(cls)
    if found is None:
        found = {info.alias or name: name for name, info in cls.model_fields.items()}
        found.update({name: name for name in cls.model_fields})
        _ALIASES[cls] = found
    return found


_ALIASES: dict[type[BaseModel], dict[str, str]] = {}


def object_value(obj: Any, path: str) -> Any:
    """The value at a dotted wire path of a typed object, read from its attributes: the
    same as ``field_value(obj.to_dict(), path)`` for scalars, without serialising the
    object (a table of 10,000 objects reads one or two fields of each)."""
    if path == HEALTH:
        return score_of(obj, None)
    value: Any = obj
    for part in path.split("."):
        if isinstance(value, BaseModel):
            name = _aliases(type(value)).get(part)
            value = getattr(value, name, None) if name is not None else None
        elif isinstance(value, Mapping):
            value = value.get(part)
        else:
            return None
        if value is None:
            return None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def table_cells(obj: Any, paths: Sequence[str]) -> list[Any]:
    """The values at ``paths`` of ``obj``, as ``field_value(obj.to_dict(), path)`` gives
    them; scalars are read from attributes, and the object is serialised (once) only for
    a path that holds a list or an object."""
    cells = [object_value(obj, path) for path in paths]
    if any(isinstance(cell, BaseModel | list | dict | set | tuple) for cell in cells):
        wire = obj.to_dict()
        return [field_value(wire, path) for path in paths]
    return cells


async def query_table(
    model: type[Any],
    namespace: str | None,
    query: TableQuery,
    *,
    cluster: ClusterReader,
    records: RecordSource,
    namespace_filter: Callable[[frozenset[str]], Awaitable[frozenset[str]]] | None = None,
) -> TablePage:
    """Page ``query.page`` of ``model``'s objects; UnknownField for an undeclared field.

    When ``cluster`` offers the model's table index (``CacheReader`` does, once its
    informer has synced) the page is read from it; otherwise from every object in the
    cache. The two give the same page.
    """
    known = set(table_fields(model))
    if query.sort not in known:
        raise UnknownField("sort", query.sort)
    for name, _ in query.filters:
        if name not in known:
            raise UnknownField("filter", name)
    needle = query.search.strip().lower()
    index = await cluster.table_index(model) if isinstance(cluster, IndexedReader) else None
    if index is not None:
        present = frozenset(ns for ns in index.namespaces if namespace is None or ns == namespace)
        allowed = present if namespace_filter is None else await namespace_filter(present)  # type: ignore[arg-type]
        rows, total, page, pages = index.page(
            sort=query.sort,
            descending=query.descending,
            filters=query.filters,
            search=needle,
            namespaces=frozenset(ns for ns in present if ns in allowed),
            page=query.page,
            size=query.size,
        )
        shown, scores = [row.obj for row in rows], [row.health for row in rows]
    else:
        shown, total, page, pages = await _scan(
            model, namespace, query, needle, cluster, namespace_filter
        )
        scores = [score_of(o, None) for o in shown]
    uids = [obj.metadata.uid for obj in shown]
    latest = await records.latest_metrics(uids) if uids else {}
    items = [
        ListItem(o, latest.get(o.metadata.uid, {}), score)
        for o, score in zip(shown, scores, strict=True)
    ]
    return TablePage(items, total, page, pages)


async def _scan(
    model: type[Any],
    namespace: str | None,
    query: TableQuery,
    needle: str,
    cluster: ClusterReader,
    namespace_filter: Callable[[frozenset[str]], Awaitable[frozenset[str]]] | None,
) -> tuple[list[Any], int, int, int]:
    """The page read from every object in the cache: the definition the index matches."""
    objs: Sequence[Any] = await cluster.list(model, namespace, None)
    if namespace_filter is not None:
        allowed = await namespace_filter(frozenset(o.metadata.namespace for o in objs))
        objs = [obj for obj in objs if obj.metadata.namespace in allowed]
    if needle:
        objs = [
            o for o in objs if needle in f"{o.metadata.namespace or ''}/{o.metadata.name}".lower()
        ]
    for name, wanted in query.filters:
        objs = [o for o in objs if value_text(object_value(o, name)) == wanted]
    # Ties are broken by namespace/name, so equal keys keep a stable order across pages.
    keyed = sorted(
        ((object_value(o, query.sort), o) for o in objs),
        key=lambda row: (row[1].metadata.namespace or "", row[1].metadata.name),
    )
    valued = [row for row in keyed if row[0] is not None]
    valued.sort(key=lambda row: sort_key(row[0]), reverse=query.descending)
    rows = [o for _, o in valued] + [o for value, o in keyed if value is None]  # blanks last
    pages = max(1, math.ceil(len(rows) / query.size))
    page = min(max(1, query.page), pages)
    return rows[(page - 1) * query.size : page * query.size], len(rows), page, pages
