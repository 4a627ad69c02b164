"""The dashboard table's rows, rendered once per object version and kept.

An open table page fetches itself again after every change event (``dashboard.js``),
so the same 50 rows are rendered over and over while one of them changed; and turning
an object into a row — reading its columns, escaping each cell — costs more than
finding the page among 10,000 objects with the table index. So each rendered ``<tr>``
is kept under what it shows: the object's ``(uid, resourceVersion)`` (its columns and
health score) and its latest metric values under the page's metric columns (database
rows, which change without a new object version). Anything else the row shows would
have to join that key.

The one thing a kept row cannot hold is the text of its age columns ("3d"), which moves
on with the clock: a row is kept cut where its ages go, with each date column's instant,
and a request reads the clock once and puts each row's ages in. A row is written by
``row_parts`` directly rather than by a Jinja macro: a page whose rows were never shown
renders 50 of them, and a template's per-value calls cost several times the string
formatting it comes down to. Every value is escaped with MarkupSafe, as the templates'
autoescape does; the age texts put in are digits and a unit, nothing to escape. The
newest ``capacity`` rows are kept, as ``rest.bodies.ObjectParts`` keeps object parts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from kubeweft.views.listing import ListItem
from kubeweft.views.records import MetricPoint
from kubeweft.views.table import table_cells

__all__ = ["Column", "RowCache", "age_text", "health_word", "row_parts"]

#: A printer column as the table shows it: (label, wire path, type).
Column = tuple[str, str, str]

#: The health word's symbol, so colour is not the only carrier of the state.
HEALTH_SYMBOLS = {"Healthy": "●", "Degraded": "◐", "Failing": "○"}
_NUMERIC = frozenset({"integer", "number"})
_NONE = '<span class="muted">—</span>'


def health_word(score: int) -> str:
    return "Healthy" if score >= 90 else "Degraded" if score >= 50 else "Failing"


def age_text(seconds: float) -> str:
    """How long ago, in its largest whole unit: ``3d``, ``5h``, ``12m``, ``40s``."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{max(whole, 0)}s"


def row_parts(
    plural: str,
    namespaced: bool,
    columns: Sequence[Column],
    metric_names: Sequence[str],
    namespace: str | None,
    name: str,
    cells: Sequence[Any],
    health: int,
    metrics: Mapping[str, MetricPoint],
) -> tuple[str, ...]:
    """One ``<tr>`` of the table, cut where each date column's age text goes (one part
    more than there are date columns)."""
    parts: list[str] = []
    out = ["<tr>"]
    if namespaced:
        out.append(f"<td>{escape(namespace)}</td>")
    where = f"{escape(namespace)}/" if namespace else ""
    shown = escape(name)
    out.append(f'<td><a href="/ui/{escape(plural)}/{where}{shown}">{shown}</a></td>')
    for cell, (_, _, kind) in zip(cells, columns, strict=True):
        opening = '<td class="num">' if kind in _NUMERIC else "<td>"
        if kind == "date":
            when = escape(cell)
            out.append(f'{opening}<time datetime="{when}" title="{when}">')
            parts.append("".join(out))
            out = ["</time></td>"]
        elif cell is None:
            out.append(f"{opening}{_NONE}</td>")
        else:
            out.append(f"{opening}{escape(cell)}</td>")
    word = health_word(health)
    out.append(
        f'<td><span class="health h-{word.lower()}"><span aria-hidden="true">'
        f'{HEALTH_SYMBOLS[word]}</span> {word} <span class="score">{escape(health)}</span>'
        "</span></td>"
    )
    for metric in metric_names:
        point = metrics.get(metric)
        if point is None:
            out.append(f'<td class="num">{_NONE}</td>')
        else:
            value = escape("%g" % point.value)  # noqa: UP031 (the format the table always used)
            out.append(f'<td class="num"><span title="{escape(point.ts)}">{value}</span></td>')
    out.append("</tr>")
    parts.append("".join(out))
    return tuple(parts)


class _Kept:
    """A rendered row cut around its ages, the instants the ages count from, and the
    row with its ages as last shown, good until the first of them changes."""

    __slots__ = ("instants", "parts", "shown", "until")

    def __init__(self, parts: tuple[str, ...], instants: tuple[float | None, ...]) -> None:
        self.parts = parts
        self.instants = instants
        self.shown = Markup(parts[0]) if len(parts) == 1 else Markup()  # escaped by row_parts
        self.until = math.inf if len(parts) == 1 else -math.inf

    def text(self, now: float) -> Markup:
        if now < self.until:
            return self.shown
        pieces, until = [self.parts[0]], math.inf
        for instant, after in zip(self.instants, self.parts[1:], strict=True):
            if instant is not None:
                seconds = now - instant
                pieces.append(age_text(seconds))
                until = min(until, instant + _next_change(seconds))
            pieces.append(after)
        self.shown = Markup("".join(pieces))  # row_parts escaped; ages are digits and a unit
        self.until = until
        return self.shown


def _next_change(seconds: float) -> int:
    """The age (in seconds) at which ``age_text(seconds)`` next changes."""
    whole = int(seconds)
    if whole < 1:
        return 1
    size = next(size for size in (86400, 3600, 60, 1) if whole >= size)
    return (whole // size + 1) * size


class RowCache:
    """Rendered table rows, by what each row shows; ``clock`` gives the time the ages
    count to (seconds since the epoch)."""

    def __init__(self, clock: Callable[[], float] = time.time, capacity: int = 4096) -> None:
        self._clock = clock
        self._capacity = capacity
        self._rows: dict[Hashable, _Kept] = {}

    def rows(
        self,
        plural: str,
        namespaced: bool,
        columns: Sequence[Column],
        metric_names: Sequence[str],
        items: Sequence[ListItem],
    ) -> list[Markup]:
        now = self._clock()
        names = tuple(metric_names)
        shown: list[Markup] = []
        for item in items:
            meta = item.obj.metadata
            metrics: tuple[Any, ...] = ()
            if names:
                latest = item.latest_metrics
                metrics = tuple(
                    (point.value, point.ts) if (point := latest.get(name)) else None
                    for name in names
                )
            key = (plural, meta.uid, meta.resourceVersion, names, metrics)
            kept = self._rows.get(key) if meta.resourceVersion else None
            if kept is None:
                kept = _render(plural, namespaced, columns, names, item)
                if meta.resourceVersion:
                    self._rows[key] = kept
                    if len(self._rows) > self._capacity:
                        del self._rows[next(iter(self._rows))]  # the oldest
            shown.append(kept.text(now))
        return shown

    def __len__(self) -> int:
        return len(self._rows)


def _render(
    plural: str,
    namespaced: bool,
    columns: Sequence[Column],
    metric_names: Sequence[str],
    item: ListItem,
) -> _Kept:
    meta = item.obj.metadata
    cells = table_cells(item.obj, [path for _, path, _ in columns])
    instants = tuple(
        _instant(cell) for cell, (_, _, kind) in zip(cells, columns, strict=True) if kind == "date"
    )
    parts = row_parts(
        plural,
        namespaced,
        columns,
        metric_names,
        meta.namespace,
        meta.name,
        cells,
        item.health_score,
        item.latest_metrics,
    )
    return _Kept(parts, instants)


def _instant(value: Any) -> float | None:
    """A date column's value (RFC 3339 text or a datetime) as seconds since the epoch;
    None (no age shown) for anything else. A time without a zone is taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
