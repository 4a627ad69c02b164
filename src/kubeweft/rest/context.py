"""What a request handler can reach, gathered in one object held by the app.

``create_app`` receives an :class:`AppContext` and stores it on ``app.state``; the
dependencies in :mod:`kubeweft.rest.dependencies` hand its parts to handlers. Nothing
is a module-level global, so two apps (or two tests) never share state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubeweft.api import CustomResource
from kubeweft.api.admission import Webhook
from kubeweft.auth.identity import Authenticator, Authorizer
from kubeweft.settings import Settings
from kubeweft.views.detail_fields import FieldSource
from kubeweft.views.owned import OwnedObjects
from kubeweft.views.reader import ClusterReader, WriteTracker
from kubeweft.views.records import RecordStore
from kubeweft.views.watches import Watches

__all__ = ["AppContext", "CacheMutations", "KubeClient"]


class KubeClient(Protocol):
    """The slice of ``kubeweft.runtime.client.Client`` the REST layer writes through."""

    async def get(self, kind: type[Any], name: str, namespace: str | None = None) -> Any: ...

    async def create(self, obj: Any, *, dry_run: bool = False) -> Any: ...

    async def update(self, obj: Any) -> Any: ...

    async def delete(self, kind: type[Any], name: str, namespace: str | None = None) -> None: ...

    async def list(
        self, kind: type[Any], namespace: str | None = None, *, field_selector: Any = None
    ) -> Any: ...


class CacheMutations(Protocol):
    """What the REST layer tells ``kubeweft.runtime.cache.Cache``: its own writes."""

    def mutation(self, obj: Any) -> bool: ...


@dataclass
class AppContext:
    settings: Settings
    models: Sequence[type[CustomResource]]
    client: KubeClient
    reader: ClusterReader
    store: RecordStore
    authenticator: Authenticator
    authorizer: Authorizer
    tracker: WriteTracker = field(default_factory=WriteTracker)
    #: The watch caches behind ``/api/watch/...`` (None: live updates not served).
    watches: Watches | None = None
    #: The project's own members of detail and list bodies (None: none declared).
    fields: FieldSource | None = None
    #: The objects each model's objects own, from the controller's cache (None: not shown).
    owned: OwnedObjects | None = None
    #: The admission rules per model, run before every write (``rest.admission``).
    webhooks: Mapping[type[CustomResource], Webhook] = field(default_factory=dict)
    #: The process's cache: each object a write returns is read from it at once and
    #: heard by the process's controllers before the watch shows it (None: not told).
    cache: CacheMutations | None = None
