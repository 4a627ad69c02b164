"""The data of live-update events: each change's ``<Kind>ListItem`` with its database
fields, read once per burst for every stream of the model.

A change's wire form is made once and shared by every stream that sends it
(``views.watchcache.Change``, ``views.feed``). The object's part — the list item up to
its database fields, ``ModelRoutes.object_parts.list_head`` — is rendered when the watch
cache records the change (``encode``), so the replay buffer keeps bytes, not objects.
Its database fields — the latest samples and a project's own fields
(``App.add_detail_fields``) — are read when the first stream is about to send it, for
*every* change the watch cache holds without them yet: the streams of a burst wait for
that one read (one statement of latest samples, one call per project loader) instead of
reading per change or per client. A database that cannot answer leaves the fields
empty, as a list page's would be absent: the stream goes on with what the cache knows
rather than stalling every client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import orjson

from kubeweft.logging import get_logger
from kubeweft.rest.context import AppContext
from kubeweft.rest.routes.model import ModelRoutes
from kubeweft.views import DatabaseUnavailable, MetricPoint
from kubeweft.views.watchcache import Change, WatchCache

__all__ = ["StreamBodies", "item_after_head"]

_log = get_logger("kubeweft.rest.streams")


def item_after_head(
    head: bytes, latest: Mapping[str, MetricPoint] | None, fields: Mapping[str, Any] | None
) -> bytes:
    """A ``<Kind>ListItem`` from its ``list_head`` (``{…,"latestMetrics":``): the same
    bytes as ``ModelRoutes.item_json`` of the object with ``latest`` and ``fields``."""
    points = {name: {"value": p.value, "ts": p.ts} for name, p in (latest or {}).items()}
    body = head + orjson.dumps(points, option=orjson.OPT_UTC_Z)
    if fields:
        body += b"," + orjson.dumps(fields, option=orjson.OPT_UTC_Z)[1:-1]
    return body + b"}"


class StreamBodies:
    """Fills ``Change.payload`` for one model's streams, a burst at a time."""

    def __init__(self, routes: ModelRoutes) -> None:
        self._routes = routes
        self._lock = anyio.Lock()

    async def fill(self, ctx: AppContext, cache: WatchCache, changes: Sequence[Change]) -> None:
        """Give ``changes`` (and every other change in ``cache`` still without one) their
        payload; a stream that finds them filled sends at once."""
        if all(change.payload is not None for change in changes):
            return
        async with self._lock:  # the streams of a burst wait here for the first one's read
            todo = {id(c): c for c in (*changes, *cache.without_payload()) if c.payload is None}
            if not todo:
                return
            waiting = list(todo.values())
            uids = list(dict.fromkeys(change.uid for change in waiting))
            latest, fields = await self._database_fields(ctx, uids)
            parts = self._routes.object_parts
            for change in waiting:
                head = change.head if change.head is not None else parts.list_head(change.obj)
                body = item_after_head(head, latest.get(change.uid), fields.get(change.uid))
                change.payload = body.decode()
                change.obj = change.head = None  # the buffer keeps the wire form only

    async def bodies(self, ctx: AppContext, objs: Sequence[Any]) -> list[str]:
        """Each object's ``<Kind>ListItem`` with its database fields, read in one go."""
        uids = list(dict.fromkeys(obj.metadata.uid for obj in objs))
        latest, fields = await self._database_fields(ctx, uids)
        return [
            self._routes.item_json(obj, latest.get(obj.metadata.uid), fields.get(obj.metadata.uid))
            for obj in objs
        ]

    async def _database_fields(
        self, ctx: AppContext, uids: list[str]
    ) -> tuple[Mapping[str, Mapping[str, MetricPoint]], Mapping[str, Mapping[str, Any]]]:
        model = self._routes.model
        declared = ctx.fields is not None and bool(ctx.fields.declared_for(model))
        latest: Mapping[str, Mapping[str, MetricPoint]] = {}
        fields: Mapping[str, Mapping[str, Any]] = {}
        if not uids:
            return latest, fields
        try:
            latest = await ctx.store.latest_metrics(uids)
            if declared and ctx.fields is not None:
                fields = await ctx.fields.load(model, uids)
        except DatabaseUnavailable as exc:
            _log.warning(
                "live update sent without its database fields",
                kind=self._routes.info.kind,
                error=str(exc.__cause__ or exc),
            )
        if declared and ctx.fields is not None and not fields:
            defaults = ctx.fields.defaults(model)
            fields = {uid: defaults for uid in uids}
        return latest, fields
