"""The Kubernetes client: typed reads and writes against the API server.

``Client`` mirrors controller-runtime's ``client.Client`` (get, list, create, update,
patch, apply, delete, the status subresource) plus ``watch`` for informers, typed by
the kind class: ``await client.get(Store, "main", "ns")`` returns a ``Store``. URLs,
authentication and TLS are lightkube's (``GenericAsyncClient``); this module owns what
lightkube leaves out — retries of transient failures (see ``retry``), errors mapped to
typed exceptions (see ``errors``), and a watch that surfaces bookmarks and ends on
failure instead of silently looping, so an informer can decide between resuming and
relisting. Reads that pass ``on_undecodable`` skip (and report) an object the kind's
model rejects instead of failing whole: a CRD served with a looser or newer schema
than the model must not stop an informer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any, Generic, Literal, Self

import anyio
import httpx2 as httpx
import msgspec
from lightkube.config.client_adapter import ConnectionParams, verify_cluster
from lightkube.core.generic_client import ALL_NS, BasicRequest, GenericAsyncClient
from lightkube.types import PatchType

from kubeweft.runtime import errors, objects
from kubeweft.runtime.config import ClusterConfig, RotatingTokenAuth, load_config
from kubeweft.runtime.objects import K
from kubeweft.runtime.retry import RetryPolicy
from kubeweft.runtime.transport import ApiTransport
from kubeweft.settings import Settings

__all__ = [
    "Client",
    "EventType",
    "ObjectList",
    "PatchType",
    "Preconditions",
    "PropagationPolicy",
    "Undecodable",
    "WatchEvent",
    "format_selector",
]

log = logging.getLogger(__name__)

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
PropagationPolicy = Literal["Foreground", "Background", "Orphan"]
Selector = str | Mapping[str, str]


@dataclass(frozen=True)
class ObjectList(Generic[K]):
    """One page of a list; ``continue_token`` is None on the last page."""

    items: list[K]
    resource_version: str
    continue_token: str | None = None


@dataclass(frozen=True)
class WatchEvent(Generic[K]):
    """One watch event. ``object`` is None only for ``BOOKMARK`` events, which carry
    nothing but the ``resource_version`` the server has reached."""

    type: EventType
    object: K | None
    resource_version: str


@dataclass(frozen=True)
class Preconditions:
    """``DeleteOptions.preconditions``: delete only this incarnation / this version."""

    uid: str | None = None
    resource_version: str | None = None


@dataclass(frozen=True)
class Undecodable:
    """An object the API server sent that the kind's model rejected (schema skew).

    ``event`` is the watch event's type, or None for an item of a list."""

    event: EventType | None
    namespace: str | None
    name: str
    resource_version: str
    error: Exception


OnUndecodable = Callable[[Undecodable], None]


class _ItemMeta(msgspec.Struct):
    name: str = ""
    namespace: str | None = None
    resourceVersion: str = ""


class _ItemHead(msgspec.Struct):
    metadata: _ItemMeta = msgspec.field(default_factory=_ItemMeta)


def _decode(
    kind: type[K], raw: bytes, event: EventType | None, on_undecodable: OnUndecodable | None
) -> K | None:
    """``raw`` as ``kind``; None (after reporting it) if the model rejects it."""
    if on_undecodable is None:
        return objects.decode(kind, raw)
    try:
        return objects.decode(kind, raw)
    except (ValueError, msgspec.MsgspecError) as error:  # pydantic's errors are ValueErrors
        meta = msgspec.json.decode(raw, type=_ItemHead).metadata  # not even JSON: raise
        on_undecodable(Undecodable(event, meta.namespace, meta.name, meta.resourceVersion, error))
        return None


class _ListMeta(msgspec.Struct):
    resourceVersion: str = ""
    continue_: str | None = msgspec.field(name="continue", default=None)


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw] | None = None
    metadata: _ListMeta | None = None


class _RawEvent(msgspec.Struct):
    type: str
    object: msgspec.Raw


class _ObjectMeta(msgspec.Struct):
    resourceVersion: str = ""


class _BookmarkObject(msgspec.Struct):
    metadata: _ObjectMeta = msgspec.field(default_factory=_ObjectMeta)


def format_selector(selector: Selector | None) -> str | None:
    """A label/field selector string from a string or an equality mapping."""
    if selector is None or isinstance(selector, str):
        return selector
    return ",".join(f"{key}={value}" for key, value in selector.items())


def _shim(data: Mapping[str, Any]) -> SimpleNamespace:
    """What lightkube's ``prepare_request`` reads from a body: ``metadata.namespace/name``."""
    meta = data.get("metadata") or {}
    return SimpleNamespace(
        metadata=SimpleNamespace(namespace=meta.get("namespace"), name=meta.get("name"))
    )


class Client:
    """Async, typed Kubernetes client with retries; one connection pool per instance.

    Build it with :meth:`from_settings`, :meth:`from_kubeconfig` or :meth:`from_config`
    and close it with :meth:`aclose` (or ``async with``). :meth:`impersonating` returns a
    client that shares the pool and acts as another user.
    """

    def __init__(
        self,
        generic: GenericAsyncClient,
        *,
        retry: RetryPolicy | None = None,
        impersonate: tuple[str, tuple[str, ...]] | None = None,
        owns_connection: bool = True,
    ) -> None:
        self._generic = generic
        self.retry = retry or RetryPolicy()
        self._impersonate = impersonate
        self._owns_connection = owns_connection

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_config(
        cls,
        config: ClusterConfig,
        *,
        field_manager: str = "kubeweft",
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Client:
        if transport is None:
            single = config.single
            if single.user is None:
                raise ValueError("the kubeconfig context names no user")
            # Each request in one write (runtime/transport.py), verified as lightkube would.
            transport = ApiTransport(
                verify_cluster(single.cluster, single.user, single.abs_file, trust_env=False)
            )
        params = ConnectionParams(
            timeout=httpx.Timeout(timeout),
            trust_env=False,
            transport=transport,  # type: ignore[arg-type]
        )
        generic = GenericAsyncClient(params, config=config.single, field_manager=field_manager)
        if config.token_file is not None:
            generic._client.auth = RotatingTokenAuth(config.token_file)
        return cls(generic, retry=retry)

    @classmethod
    def from_settings(cls, settings: Settings, *, retry: RetryPolicy | None = None) -> Client:
        return cls.from_config(
            load_config(settings), field_manager=settings.field_manager, retry=retry
        )

    @classmethod
    def from_kubeconfig(
        cls,
        path: Path,
        *,
        context: str | None = None,
        field_manager: str = "kubeweft",
        retry: RetryPolicy | None = None,
    ) -> Client:
        return cls.from_config(
            load_config(Settings(), kubeconfig=path, context=context),
            field_manager=field_manager,
            retry=retry,
        )

    def impersonating(self, user: str, groups: Sequence[str] = ()) -> Client:
        """A client acting as ``user``/``groups`` (Impersonate-* headers), same pool."""
        return Client(
            self._generic,
            retry=self.retry,
            impersonate=(user, tuple(groups)),
            owns_connection=False,
        )

    @property
    def default_namespace(self) -> str:
        return str(self._generic.namespace)

    async def aclose(self) -> None:
        if self._owns_connection:
            await self._generic.close()  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- reads ----------------------------------------------------------------------
    async def get(self, kind: type[K], name: str, namespace: str | None = None) -> K:
        br = self._prepare("get", kind, name=name, namespace=self._namespace(kind, namespace))
        response = await self._send(br, idempotent=True)
        return objects.decode(kind, response.content)

    async def list(
        self,
        kind: type[K],
        namespace: str | None = None,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        on_undecodable: OnUndecodable | None = None,
    ) -> ObjectList[K]:
        """One page of objects; ``namespace=None`` lists across all namespaces."""
        params = {
            "labelSelector": format_selector(label_selector),
            "fieldSelector": format_selector(field_selector),
            "limit": str(limit) if limit else None,
            "continue": continue_token,
            "resourceVersion": resource_version,
        }
        br = self._prepare(
            "list", kind, namespace=self._list_namespace(kind, namespace), params=params
        )
        response = await self._send(br, idempotent=True)
        page = msgspec.json.decode(response.content, type=_RawList)
        meta = page.metadata or _ListMeta()
        decoded = (_decode(kind, bytes(raw), None, on_undecodable) for raw in page.items or ())
        items = [item for item in decoded if item is not None]
        return ObjectList(items, meta.resourceVersion, meta.continue_ or None)

    async def list_all(
        self,
        kind: type[K],
        namespace: str | None = None,
        *,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        page_size: int = 500,
        on_undecodable: OnUndecodable | None = None,
    ) -> ObjectList[K]:
        """Every object, fetched in pages of ``page_size`` (a consistent snapshot)."""
        items: list[K] = []
        token: str | None = None
        while True:
            page = await self.list(
                kind,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=page_size,
                continue_token=token,
                on_undecodable=on_undecodable,
            )
            items.extend(page.items)
            if not page.continue_token:
                return ObjectList(items, page.resource_version)
            token = page.continue_token

    # --- writes ---------------------------------------------------------------------
    async def create(self, obj: K, *, dry_run: bool = False) -> K:
        kind = type(obj)
        data = objects.to_dict(obj)
        br = self._prepare(
            "post",
            kind,
            namespace=self._namespace(kind, data.get("metadata", {}).get("namespace")),
            body=data,
            params={"dryRun": "All" if dry_run else None},
        )
        response = await self._send(br, idempotent=False)
        return objects.decode(kind, response.content)

    async def update(self, obj: K) -> K:
        """PUT the whole object; its ``resourceVersion`` makes this conditional (409 if stale)."""
        return await self._put(obj, subresource=None)

    async def update_status(self, obj: K) -> K:
        """PUT the object to its ``status`` subresource (only status is changed)."""
        return await self._put(obj, subresource="status")

    async def patch(
        self,
        kind: type[K],
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.MERGE,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> K:
        """Patch an object (JSON merge by default; JSON patch, strategic merge or apply)."""
        params = {
            "fieldManager": field_manager,
            "force": "true" if force else None,
            "dryRun": "All" if dry_run else None,
        }
        br = self._prepare(
            "patch",
            kind,
            name=name,
            namespace=self._namespace(kind, namespace),
            subresource=subresource,
            body=patch,
            params=params,
            headers={"Content-Type": patch_type.value},
        )
        response = await self._send(br, idempotent=patch_type is not PatchType.JSON)
        return objects.decode(kind, response.content)

    async def apply(
        self,
        obj: K,
        *,
        field_manager: str | None = None,
        force: bool = False,
        subresource: str | None = None,
    ) -> K:
        """Server-side apply ``obj`` (the fields it sets are owned by ``field_manager``)."""
        data = objects.to_dict(obj)
        meta = data.get("metadata") or {}
        return await self.patch(
            type(obj),
            meta["name"],
            data,
            namespace=meta.get("namespace"),
            patch_type=PatchType.APPLY,
            subresource=subresource,
            field_manager=field_manager,
            force=force,
        )

    async def delete(
        self,
        kind: type[Any],
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: PropagationPolicy | None = None,
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> None:
        """Delete an object. A retried delete whose first attempt succeeded raises NotFound."""
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if dry_run:
            options["dryRun"] = ["All"]
        if preconditions is not None:
            options["preconditions"] = {
                key: value
                for key, value in (
                    ("uid", preconditions.uid),
                    ("resourceVersion", preconditions.resource_version),
                )
                if value is not None
            }
        br = self._prepare("delete", kind, name=name, namespace=self._namespace(kind, namespace))
        br.data = options
        await self._send(br, idempotent=True)

    # --- watch ----------------------------------------------------------------------
    async def watch(
        self,
        kind: type[K],
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: Selector | None = None,
        field_selector: Selector | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
        on_undecodable: OnUndecodable | None = None,
    ) -> AsyncGenerator[WatchEvent[K], None]:
        """Stream events after ``resource_version`` until the server ends the watch.

        Ends normally when the server closes the stream (``timeout_seconds``); raises
        :class:`errors.Gone` when the version is too old (relist), other
        :class:`errors.ApiError` subclasses on failure. It never reconnects by itself:
        use ``contextlib.aclosing`` and let the caller (an informer) decide.
        """
        params = {
            "resourceVersion": resource_version,
            "labelSelector": format_selector(label_selector),
            "fieldSelector": format_selector(field_selector),
            "timeoutSeconds": str(timeout_seconds) if timeout_seconds else None,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
        }
        br = self._prepare(
            "list", kind, namespace=self._list_namespace(kind, namespace), params=params, watch=True
        )
        # A watch is silent for long stretches by design; only the informer's idle
        # deadline decides when silence means a dead connection.
        br.timeout = httpx.Timeout(10.0, read=None)
        response = await self._send(br, idempotent=True, stream=True)
        try:
            async for line in response.aiter_lines():
                if not line:
                    continue
                event = msgspec.json.decode(line, type=_RawEvent)
                raw = bytes(event.object)
                if event.type == "ERROR":
                    raise errors.error_from_body(500, raw)
                if event.type == "BOOKMARK":
                    bookmark = msgspec.json.decode(raw, type=_BookmarkObject)
                    yield WatchEvent("BOOKMARK", None, bookmark.metadata.resourceVersion)
                    continue
                if event.type not in ("ADDED", "MODIFIED", "DELETED"):
                    log.warning("unknown watch event type %r ignored", event.type)
                    continue
                obj = _decode(kind, raw, event.type, on_undecodable)  # type: ignore[arg-type]
                if obj is None:
                    continue
                rv = str(getattr(obj.metadata, "resourceVersion", "") or "")  # type: ignore[attr-defined]
                yield WatchEvent(event.type, obj, rv)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise errors.ConnectionFailed(0, "stream", str(exc) or type(exc).__name__) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    # --- plumbing -------------------------------------------------------------------
    def _namespace(self, kind: type[Any], namespace: str | None) -> str | None:
        if not objects.kind_info(kind).namespaced:
            return None
        return namespace or self.default_namespace

    def _list_namespace(self, kind: type[Any], namespace: str | None) -> str | None:
        if not objects.kind_info(kind).namespaced:
            return None
        return namespace or ALL_NS

    def _prepare(
        self,
        method: str,
        kind: type[Any],
        *,
        name: str | None = None,
        namespace: str | None = None,
        subresource: str | None = None,
        body: Any = None,
        params: Mapping[str, str | None] | None = None,
        headers: Mapping[str, str] | None = None,
        watch: bool = False,
    ) -> BasicRequest:
        resource = objects.lightkube_resource(kind, subresource)
        shim = _shim(body) if isinstance(body, Mapping) else body
        br = self._generic.prepare_request(
            method,
            resource,
            obj=shim,
            name=name,
            namespace=namespace,
            watch=watch,
            params=dict(params or {}),
            headers=dict(headers or {}),
        )
        br.data = body
        return br

    def _build(self, br: BasicRequest) -> httpx.Request:
        request = self._generic.build_adapter_request(br)
        if self._impersonate is not None:
            user, groups = self._impersonate
            request.headers["Impersonate-User"] = user
            if groups:
                items = [
                    *request.headers.multi_items(),
                    *(("Impersonate-Group", g) for g in groups),
                ]
                request.headers = httpx.Headers(items)
        return request

    async def _send(
        self, br: BasicRequest, *, idempotent: bool, stream: bool = False
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            request = self._build(br)
            error: errors.ApiError
            try:
                response: httpx.Response = await self._generic.send(request, stream=stream)  # type: ignore[no-untyped-call]
            except httpx.ConnectTimeout as exc:
                error = errors.ConnectionFailed(0, "connect", str(exc) or "connect timeout")
            except httpx.TimeoutException as exc:
                error = errors.Timeout(0, "ClientTimeout", str(exc) or type(exc).__name__)
            except httpx.ConnectError as exc:
                error = errors.ConnectionFailed(0, "connect", str(exc) or "connection refused")
            except httpx.TransportError as exc:
                error = errors.ConnectionFailed(0, "transport", str(exc) or type(exc).__name__)
            else:
                if response.status_code < 400:
                    return response
                body = await response.aread()
                await response.aclose()
                error = errors.error_from_body(
                    response.status_code,
                    body,
                    retry_after_header=response.headers.get("Retry-After"),
                )
            if not self.retry.should_retry(error, attempt=attempt, idempotent=idempotent):
                raise error
            delay = self.retry.delay(attempt, error)
            log.debug(
                "retrying %s %s in %.2fs after %s (attempt %d)",
                br.method,
                br.url,
                delay,
                error,
                attempt,
            )
            await anyio.sleep(delay)

    async def _put(self, obj: K, *, subresource: str | None) -> K:
        kind = type(obj)
        data = objects.to_dict(obj)
        meta = data.get("metadata") or {}
        br = self._prepare(
            "put",
            kind,
            name=meta.get("name"),
            namespace=self._namespace(kind, meta.get("namespace")),
            subresource=subresource,
            body=data,
        )
        response = await self._send(br, idempotent=True)
        return objects.decode(kind, response.content)
