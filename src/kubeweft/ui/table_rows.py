"""The dashboard table's rows, rendered once per object version and kept.

An open table page fetches itself again after every change event (``dashboard.js``),
so the same 50 rows are rendered over and over while one of them changed; and turning
an object into a row — reading its columns, the template's escaping of each cell — costs
more than finding the page among 10,000 objects with the table index. So each rendered
``<tr>`` is kept under what it shows: the object's ``(uid, resourceVersion)`` (its
columns and health score), the text of its age columns (an age moves on with the
clock), and its latest metric values under the page's metric columns (database rows,
which change without a new object version). Anything else the row shows would have to
join that key. The newest ``capacity`` rows are kept, as ``rest.bodies.ObjectParts``
keeps object parts.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from kubeweft.views.listing import ListItem
from kubeweft.views.table import object_value, table_cells

if TYPE_CHECKING:
    import jinja2

__all__ = ["Column", "RowCache"]

#: A printer column as the table shows it: (label, wire path, type).
Column = tuple[str, str, str]


class RowCache:
    """Rendered rows of the table template's ``row`` macro, by what each row shows.

    ``template`` is called for the template when the first row is rendered, so a process
    whose table nobody opens loads no Jinja2.
    """

    def __init__(
        self,
        template: Callable[[], jinja2.Template],
        age: Callable[[Any], str],
        capacity: int = 4096,
    ) -> None:
        self._template = template
        self._render: Callable[..., str] | None = None
        self._age = age
        self._capacity = capacity
        self._rows: dict[Hashable, Markup] = {}
        #: The date columns' instants per object version: only their age text is new
        #: on each request.
        self._dates: dict[Hashable, tuple[Any, ...]] = {}

    def rows(
        self,
        plural: str,
        namespaced: bool,
        columns: Sequence[Column],
        metric_names: Sequence[str],
        items: Sequence[ListItem],
    ) -> list[Markup]:
        paths = [path for _, path, _ in columns]
        dated = [path for _, path, kind in columns if kind == "date"]
        shown: list[Markup] = []
        for item in items:
            meta = item.obj.metadata
            version = (meta.uid, meta.resourceVersion)
            dates = self._dates.get(version)
            if dates is None:
                dates = tuple(_instant(object_value(item.obj, path)) for path in dated)
                if meta.resourceVersion:
                    _keep(self._dates, version, dates, self._capacity)
            ages = tuple(self._age(instant) for instant in dates)
            metrics = tuple(
                (point.value, point.ts) if (point := item.latest_metrics.get(name)) else None
                for name in metric_names
            )
            key = (plural, meta.uid, meta.resourceVersion, ages, tuple(metric_names), metrics)
            row = self._rows.get(key) if meta.resourceVersion else None
            if row is None:
                texts = iter(ages)
                values = {
                    "namespace": meta.namespace,
                    "name": meta.name,
                    "cells": table_cells(item.obj, paths),
                    # each date column's age, as in the key (not from the template's clock)
                    "ages": [next(texts) if kind == "date" else "" for _, _, kind in columns],
                    "health": item.health_score,
                    "metrics": item.latest_metrics,
                }
                if self._render is None:
                    self._render = self._template().module.row  # type: ignore[attr-defined]
                row = Markup(self._render(plural, namespaced, columns, metric_names, values))
                if meta.resourceVersion:
                    _keep(self._rows, key, row, self._capacity)
            shown.append(row)
        return shown

    def __len__(self) -> int:
        return len(self._rows)


def _keep(kept: dict[Hashable, Any], key: Hashable, value: Any, capacity: int) -> None:
    kept[key] = value
    if len(kept) > capacity:
        del kept[next(iter(kept))]  # the oldest


def _instant(value: Any) -> Any:
    """A date column's RFC 3339 text as a datetime (parsed once per object version)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
