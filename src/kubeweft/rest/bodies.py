"""The detail and list bodies, written as JSON bytes without re-validating trusted data.

Going through the response schemas meant, per object, a dict built from dataclasses
(``dataclasses.asdict`` deep-copies every value), pydantic validating again what this
process had produced, and then serializing: most of a 1,000-item list page. Here the
part of a body that depends only on the object — metadata, spec, status — is
serialized once per object version, ``(uid, resourceVersion)``, *through the schema*
(so its shape and formats are the schema's), and kept; a request adds the database
fields (history, metrics, annotations, latest samples) with orjson, whose output for
these values (``Z`` datetimes, floats) is the same as pydantic's.

A body is ``b"{" + object part + "," + database part[1:]``: the database part is
serialized as its own object and loses its opening brace. Fields a project adds to a
body belong in the database part's dict.

A list item's health score depends on the object alone, so it is kept with the
object's part: per version, the item up to ``"latestMetrics":`` is ready bytes. The
whole item is kept too, for its object version and the read-only mapping of samples the
record source hands out (the same one while a UID's samples are unchanged): a page is,
for every item that did not change since the previous page, a join of ready bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import orjson

from kubeweft.views import DetailView, ListPage
from kubeweft.views.detail import score_of
from kubeweft.views.records import MetricPoint

__all__ = ["ObjectParts", "detail_body", "item_body", "list_body"]

_OPTIONS = orjson.OPT_UTC_Z


class ObjectParts:
    """The object-only part of each body (``"uid":…,"status":…``, no braces), by version.

    ``render`` serializes one object; the newest ``capacity`` versions are kept (an
    object's old versions age out as the informer replaces them), each with the start
    of its list item (``list_head``), and the newest ``capacity`` whole list items
    (``list_item``).
    """

    def __init__(self, render: Callable[[Any], bytes], capacity: int = 4096) -> None:
        self._render = render
        self._capacity = capacity
        self._parts: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self._items: dict[str, tuple[str, Mapping[str, MetricPoint], bytes]] = {}

    def _entry(self, obj: Any) -> tuple[bytes, bytes]:
        meta = obj.metadata
        key = (meta.uid or "", meta.resourceVersion or "")
        entry = self._parts.get(key)
        if entry is None or not key[1]:
            part = self._render(obj)
            entry = (part, _list_head(part, score_of(obj, None)))
            if key[1]:
                self._parts[key] = entry
                if len(self._parts) > self._capacity:
                    del self._parts[next(iter(self._parts))]
        return entry

    def __call__(self, obj: Any) -> bytes:
        return self._entry(obj)[0]

    def list_head(self, obj: Any) -> bytes:
        """``{<part>,"healthScore":<the object's score>,"latestMetrics":`` (a list item
        without its samples; the score has no reconcile error rate, as in a list)."""
        return self._entry(obj)[1]

    def list_item(self, obj: Any, latest: Mapping[str, MetricPoint]) -> bytes:
        """A list item without a project's fields: ``list_head`` plus ``latest``'s JSON.

        Kept per UID for its object version and its samples' mapping *instance* when that
        mapping is read-only (``MappingProxyType``: a record source hands out the same one
        again while a UID's samples are unchanged), so an unchanged item costs a lookup;
        built anew otherwise."""
        meta = obj.metadata
        uid, version = meta.uid, meta.resourceVersion
        kept = self._items.get(uid)
        if kept is not None and kept[1] is latest and kept[0] == version:
            return kept[2]
        item = self.list_head(obj) + _encode(_points(latest)) + b"}"
        if uid and version and isinstance(latest, MappingProxyType):
            self._items.pop(uid, None)  # re-inserted as the newest
            self._items[uid] = (version, latest, item)
            if len(self._items) > self._capacity:
                del self._items[next(iter(self._items))]
        return item

    def __len__(self) -> int:
        return len(self._parts)


def _encode(value: Any) -> bytes:
    return orjson.dumps(value, option=_OPTIONS)


def _object(part: bytes, rest: Mapping[str, Any]) -> bytes:
    return b"{" + part + b"," + orjson.dumps(rest, option=_OPTIONS)[1:]


def _list_head(part: bytes, health: int) -> bytes:
    return b"{" + part + b',"healthScore":' + str(health).encode() + b',"latestMetrics":'


def _points(latest: Mapping[str, MetricPoint]) -> dict[str, Any]:
    return {name: {"value": p.value, "ts": p.ts} for name, p in latest.items()}


def detail_body(part: bytes, view: DetailView) -> bytes:
    """A ``<Kind>Read`` body: ``part`` (the object) plus the view's database fields."""
    return _object(
        part,
        {
            "healthScore": view.health_score,
            "history": [
                {
                    "generation": h.generation,
                    "spec": h.spec,
                    "patch": h.patch,
                    "actor": h.actor,
                    "source": h.source,
                    "createdAt": h.created_at,
                    "rolledBackTo": h.rolled_back_to,
                }
                for h in view.history
            ],
            "metrics": {
                name: {
                    "latest": m.latest,
                    "min": m.min,
                    "max": m.max,
                    "avg": m.avg,
                    "count": m.count,
                    "latestAt": m.latest_at,
                }
                for name, m in view.metrics.items()
            },
            "annotations": [
                {"id": a.id, "author": a.author, "body": a.body, "createdAt": a.created_at}
                for a in view.annotations
            ],
            **view.fields,
        },
    )


def item_body(
    part: bytes, health: int, latest: Mapping[str, MetricPoint], fields: Mapping[str, Any]
) -> bytes:
    """A ``<Kind>ListItem`` body of one object: a live update's data."""
    return _object(part, {"healthScore": health, "latestMetrics": _points(latest), **fields})


def list_body(parts: ObjectParts, page: ListPage) -> bytes:
    """A ``<Kind>List`` body: each item's object part plus its health and latest samples."""
    items = b",".join(
        parts.list_item(item.obj, item.latest_metrics)
        if item.known_score is None and not item.fields
        else _object(
            parts(item.obj),
            {
                "healthScore": item.health_score,
                "latestMetrics": _points(item.latest_metrics),
                **item.fields,
            },
        )
        for item in page.items
    )
    tail = orjson.dumps(page.continue_token)
    return b'{"items":[' + items + b'],"continue":' + tail + b"}"
