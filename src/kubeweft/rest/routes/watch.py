"""``/api/watch/<plural>[/{namespace}[/{name}]]``: live updates as server-sent events.

Kubernetes put watches under ``/watch/`` before it had ``?watch=true``; here the prefix
keeps the stream paths apart from the object paths (an object may be named anything,
including ``stream``). Each stream is fed by the model's watch cache — the informer the
controller already runs — never by a watch of its own.

On the wire (``text/event-stream``; every id is a resourceVersion):

* ``added`` / ``modified`` / ``deleted`` — ``data`` is the object as a ``<Kind>ListItem``,
  with its latest samples and the project's own fields as they were when the first
  stream sent it (``rest.streambodies``: one database read per burst);
* ``resync`` — the client's view has a gap: ``reason`` ``Expired`` (its ``Last-Event-ID``
  is older than the replay buffer; the current state follows) or ``TooSlow`` (it read
  too slowly and is cut off; reconnect);
* ``synced`` — the client now holds the state as of this id (after the current state,
  or after the changes replayed since its ``Last-Event-ID``);
* a comment line every heartbeat interval, with the id the client may resume from.

Access is checked as for a list: ``watch`` on the namespace (or the object) at connect,
403 before the stream starts; an all-namespace stream shows the namespaces the caller
may ``watch`` in, asked per namespace as objects from it appear and asked again once
the answer is ``ttl`` old. A stream whose own scope is no longer allowed ends.
"""

import dataclasses
import json
from collections.abc import AsyncGenerator
from contextlib import ExitStack
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header
from fastapi.sse import format_sse_event
from starlette.responses import Response

from kubeweft.auth.identity import Identity, ResourceAttributes, ReviewUnavailable
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import ContextDep, CurrentUser, NameParam, NamespaceParam
from kubeweft.rest.eventstream import EVENT_STREAM, EventStreamResponse
from kubeweft.rest.problems import Problem
from kubeweft.rest.routes.collection import SelectorQuery
from kubeweft.rest.routes.model import ModelRoutes, problem_doc
from kubeweft.rest.streambodies import StreamBodies
from kubeweft.runtime.labels import LabelSelector
from kubeweft.views.feed import Burst
from kubeweft.views.subscription import Subscription, WatchFilter
from kubeweft.views.watchcache import Change, Start, WatchCache
from kubeweft.views.watches import TooManyStreams, Watches, WatchesClosed

__all__ = ["LAST_EVENT_ID_MAX_LENGTH", "WATCH_SEGMENT", "add_watch_routes", "watch_prefix"]

LAST_EVENT_ID_MAX_LENGTH = 20  # a resourceVersion: etcd's revision, a 64-bit integer

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=LAST_EVENT_ID_MAX_LENGTH,
        pattern=r"^[0-9]+$",
        description="Resume after this event id (a resourceVersion). Browsers send it "
        "when an EventSource reconnects.",
    ),
]


#: The path segment of the streams under ``/api``: no model may take it as its plural.
WATCH_SEGMENT = "watch"


def watch_prefix(plural: str) -> str:
    return f"/api/{WATCH_SEGMENT}/{plural}"


def _frame(event: str | None = None, data: str | None = None, id: int | None = None) -> bytes:
    return format_sse_event(event=event, data_str=data, id=None if id is None else str(id))


def _heartbeat(resource_version: int | None) -> bytes:
    return format_sse_event(
        comment="heartbeat", id=None if resource_version is None else str(resource_version)
    )


def _resync(reason: str, message: str) -> bytes:
    return _frame("resync", json.dumps({"reason": reason, "message": message}))


class AccessGate:
    """May the caller watch objects of a namespace? Asked once per namespace, again when
    the answer is ``ttl`` seconds old. ``scoped``: the stream's namespace (or object, or
    cluster scope) is fixed, so every namespace it sees is asked as the connect was."""

    def __init__(
        self,
        ctx: AppContext,
        identity: Identity,
        template: ResourceAttributes,
        *,
        scoped: bool,
        ttl: float,
    ) -> None:
        self._ctx = ctx
        self._identity = identity
        self._template = template
        self.scoped = scoped
        self._ttl = ttl
        self._answers: dict[str | None, tuple[bool, float]] = {}

    async def allows(self, namespace: str | None) -> bool:
        """Raises ``ReviewUnavailable`` when it cannot be known."""
        known = self.known(namespace)
        if known is not None:
            return known
        key = None if self.scoped else namespace
        allowed = await self._ask(key)
        self._answers[key] = (allowed, anyio.current_time() + self._ttl)
        return allowed

    def known(self, namespace: str | None) -> bool | None:
        """The answer while it is fresh, without a checkpoint; None: ask ``allows``."""
        known = self._answers.get(None if self.scoped else namespace)
        if known is not None and known[1] > anyio.current_time():
            return known[0]
        return None

    async def _ask(self, namespace: str | None) -> bool:
        authorize = self._ctx.authorizer.authorize
        if self.scoped:
            return (await authorize(self._identity, self._template)).allowed
        if (await self.allows_everywhere()).allowed:
            return True
        scoped = dataclasses.replace(self._template, namespace=namespace)
        return (await authorize(self._identity, scoped)).allowed

    async def allows_everywhere(self) -> Any:
        cluster = dataclasses.replace(self._template, namespace=None)
        return await self._ctx.authorizer.authorize(self._identity, cluster)


async def _events(
    routes: ModelRoutes,
    bodies: StreamBodies,
    ctx: AppContext,
    cache: WatchCache,
    subscription: Subscription,
    start: Start,
    gate: AccessGate,
    *,
    resumed_from: int | None,
    heartbeat: float,
    gather: float,
) -> AsyncGenerator[bytes, None]:
    def send(kind: str, change: Change) -> bytes:
        return _frame(kind, change.payload, change.resource_version)

    async def prepare(burst: Burst) -> None:  # once per burst, for every stream of the feed
        await bodies.fill(ctx, cache, [change for _, change in burst.changes])
        burst.encode(send)

    try:
        if start.resync:
            if resumed_from is not None:
                yield _resync(
                    "Expired",
                    f"resourceVersion {resumed_from} is too old to resume from; "
                    "the current state follows",
                )
            shown = [obj for obj in start.snapshot if await gate.allows(obj.metadata.namespace)]
            for payload in await bodies.bodies(ctx, shown):
                yield _frame("added", payload)
        else:
            await bodies.fill(ctx, cache, start.replay)
            for change in start.replay:
                kind = subscription.event_for(change)
                if kind is not None and await gate.allows(change.namespace):
                    yield send(kind, change)
        yield _frame(
            "synced",
            json.dumps({"resourceVersion": str(start.resource_version)}),
            start.resource_version,
        )
        while True:
            batch = await subscription.take(heartbeat, gather, prepare)
            if batch is None:
                if subscription.overflowed:
                    yield _resync(
                        "TooSlow",
                        f"more than {subscription.capacity} changes waited for this client; "
                        "reconnect with Last-Event-ID",
                    )
                    return
                if subscription.closed:
                    return
                yield _heartbeat(subscription.resource_version)
                continue
            if gate.scoped:
                allowed = gate.known(None)
                if allowed is None:
                    allowed = await gate.allows(None)
                if not allowed:
                    return  # access withdrawn: a reconnect gets the 403
                yield b"".join(burst.data for burst in batch.bursts)  # one write
                continue
            parts = []
            for burst in batch.bursts:
                allowed_in = {ns: await _allows(gate, ns) for ns in burst.namespaces}
                if all(allowed_in.values()):
                    parts.append(burst.data)
                else:
                    parts += [framed for ns, framed in burst.frames if allowed_in[ns]]
            if parts:
                yield b"".join(parts)  # a burst is one write
    except ReviewUnavailable:
        return  # never skip silently: the client resumes from its last id


async def _allows(gate: AccessGate, namespace: str | None) -> bool:
    """The gate's answer: the fresh one without a checkpoint, else asked."""
    known = gate.known(namespace)
    return known if known is not None else await gate.allows(namespace)


def add_watch_routes(router: APIRouter, routes: ModelRoutes, watches: Watches | None) -> None:
    """Stream routes of ``routes.model`` on ``router`` (prefixed ``watch_prefix(plural)``);
    ``watches``' cache of the model records each change's wire form, not the object."""
    if watches is not None:
        watches.cache_for(routes.model).encode = routes.object_parts.list_head
    info = routes.info
    plural, group, kind = info.plural, info.group, info.kind
    item_schema = routes.schemas.list_item.__name__
    bodies = StreamBodies(routes)  # one per model: its streams share each burst's read
    stream_doc: dict[int | str, dict[str, Any]] = {
        200: {
            "description": (
                "Server-sent events (resumable with Last-Event-ID): `added`, `modified`, "
                f"`deleted` (data: a {item_schema}), `resync` (data: reason, message), "
                "`synced` (data: resourceVersion), and heartbeat comments."
            ),
            "content": {
                EVENT_STREAM: {
                    "schema": {"type": "string"},
                    "example": (
                        f"event: modified\nid: 4711\ndata: {{...a {item_schema}...}}\n\n"
                        ": heartbeat\nid: 4711\n\n"
                    ),
                }
            },
        },
        429: problem_doc("The caller already holds its maximum of open streams."),
        503: problem_doc("The server is shutting down, or access cannot be checked."),
    }

    async def open_stream(
        ctx: AppContext,
        identity: Identity,
        selection: WatchFilter,
        last_event_id: str | None,
        template: ResourceAttributes,
        *,
        scoped: bool,
    ) -> Response:
        watches = _watches(ctx)
        cache = watches.cache_for(routes.model)
        since = int(last_event_id) if last_event_id else None
        if since is not None:
            await _catch_up(ctx, cache, since)
        cleanup = ExitStack()
        try:
            cleanup.enter_context(watches.slot(identity.user))
        except TooManyStreams as exc:
            raise Problem(
                429,
                f"{exc.user} already holds {exc.limit} open streams; close one first.",
                slug="too-many-streams",
                headers={"Retry-After": "5"},
            ) from None
        except WatchesClosed:
            raise Problem(
                503, "The server is shutting down.", headers={"Retry-After": "1"}
            ) from None
        limits = watches.limits
        subscription = Subscription(selection, limits.client_buffer)
        start = cache.subscribe(subscription, since)
        cleanup.callback(cache.unsubscribe, subscription)
        gate = AccessGate(
            ctx, identity, template, scoped=scoped, ttl=ctx.settings.authz_cache_ttl_seconds
        )
        events = _events(
            routes,
            bodies,
            ctx,
            cache,
            subscription,
            start,
            gate,
            resumed_from=since,
            heartbeat=limits.heartbeat,
            gather=limits.gather,
        )
        return EventStreamResponse(events, ended=subscription.ended, cleanup=cleanup)

    def selector_of(text: str | None) -> LabelSelector | None:
        return LabelSelector.parse(text) if text else None

    if info.namespaced:

        @router.get(
            "",
            response_class=Response,
            responses=stream_doc,
            summary=f"Stream changes to {plural} in all namespaces (server-sent events)",
        )
        async def watch_all(
            ctx: ContextDep,
            identity: CurrentUser,
            label_selector: SelectorQuery,
            last_event_id: LastEventId = None,
        ) -> Response:
            template = ResourceAttributes("watch", group, plural)
            selection = WatchFilter(selector=selector_of(label_selector))
            return await open_stream(
                ctx, identity, selection, last_event_id, template, scoped=False
            )

        @router.get(
            "/{namespace}",
            response_class=Response,
            responses=stream_doc,
            summary=f"Stream changes to {plural} in a namespace (server-sent events)",
        )
        async def watch_namespace(
            namespace: NamespaceParam,
            ctx: ContextDep,
            identity: Annotated[Identity, routes.may("watch")],
            label_selector: SelectorQuery,
            last_event_id: LastEventId = None,
        ) -> Response:
            template = ResourceAttributes("watch", group, plural, namespace=namespace)
            selection = WatchFilter(namespace, selector=selector_of(label_selector))
            return await open_stream(ctx, identity, selection, last_event_id, template, scoped=True)

        @router.get(
            "/{namespace}/{name}",
            response_class=Response,
            responses=stream_doc,
            summary=f"Stream changes to one {kind} (server-sent events)",
        )
        async def watch_object(
            namespace: NamespaceParam,
            name: NameParam,
            ctx: ContextDep,
            identity: Annotated[Identity, routes.may("watch")],
            last_event_id: LastEventId = None,
        ) -> Response:
            template = ResourceAttributes("watch", group, plural, namespace=namespace, name=name)
            selection = WatchFilter(namespace, name)
            return await open_stream(ctx, identity, selection, last_event_id, template, scoped=True)

        return

    @router.get(
        "",
        response_class=Response,
        responses=stream_doc,
        summary=f"Stream changes to {plural} (server-sent events)",
    )
    async def watch_cluster(
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("watch")],
        label_selector: SelectorQuery,
        last_event_id: LastEventId = None,
    ) -> Response:
        template = ResourceAttributes("watch", group, plural)
        selection = WatchFilter(selector=selector_of(label_selector))
        return await open_stream(ctx, identity, selection, last_event_id, template, scoped=True)

    @router.get(
        "/{name}",
        response_class=Response,
        responses=stream_doc,
        summary=f"Stream changes to one {kind} (server-sent events)",
    )
    async def watch_cluster_object(
        name: NameParam,
        ctx: ContextDep,
        identity: Annotated[Identity, routes.may("watch")],
        last_event_id: LastEventId = None,
    ) -> Response:
        template = ResourceAttributes("watch", group, plural, name=name)
        selection = WatchFilter(name=name)
        return await open_stream(ctx, identity, selection, last_event_id, template, scoped=True)


def _watches(ctx: AppContext) -> Watches:
    if ctx.watches is None:
        raise Problem(503, "Live updates are not served by this process.")
    return ctx.watches


async def _catch_up(ctx: AppContext, cache: WatchCache, since: int) -> None:
    """A ``Last-Event-ID`` newer than this cache (another replica was ahead): wait,
    bounded, for the informer to reach it; if it does not, the stream resyncs."""
    current = cache.informer.resource_version
    if current is not None and current.isdigit() and int(current) < since:
        await cache.informer.wait_for_resource_version(
            str(since), ctx.settings.read_your_writes_timeout_seconds
        )
