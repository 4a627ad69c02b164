"""The dashboard's routes behind one prefix test.

FastAPI tries an application's routes in order and an included router's routes one by
one (it has no prefix shortcut), so the dashboard, installed after every model's API
routes, was reached only after a request had been tried against each of them — about
thirty regular expressions per page at one model, more with each model — while an API
request that came first paid nothing for the dashboard. ``UnderPrefix`` holds the
dashboard's routes and is put first: a path outside ``/ui`` costs it one string test,
and a dashboard page is matched among the dashboard's routes alone. The routes inside
are unchanged (still an included ``APIRouter`` and a static mount), so dependencies,
the ``route`` the access log and metrics are labelled with, and ``405``'s ``Allow``
header work as before; none of them is in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

__all__ = ["UnderPrefix"]

#: Where ``matches`` leaves the inner route that matched, for ``handle``.
_MATCHED = "kubeweft.ui.route"


class UnderPrefix(BaseRoute):
    """``routes``, tried only for a path that is ``prefix`` or lies under it."""

    def __init__(self, prefix: str, routes: Sequence[BaseRoute]) -> None:
        self.prefix = prefix.rstrip("/")
        self.routes = list(routes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] not in ("http", "websocket"):
            return Match.NONE, {}
        path = _route_path(scope)
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return Match.NONE, {}
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, _MATCHED: route}
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            return Match.PARTIAL, {**child_scope, _MATCHED: route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute | None = scope.pop(_MATCHED, None)
        if route is None:  # handled without being matched first: match now
            match, child_scope = self.matches(scope)
            if match is Match.NONE:
                raise NoMatchFound(scope["path"], {})
            scope.update(child_scope)
            route = scope.pop(_MATCHED)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


def _route_path(scope: Scope) -> str:
    """The path as routes match it: without the ASGI ``root_path`` (as Starlette's own
    ``get_route_path``, which is not public)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path
