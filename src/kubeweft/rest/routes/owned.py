"""``GET /api/<plural>/…/owned``: the objects an object owns, as far as the caller may see.

Reading the owner is ``get`` on the model (as for its other sub-resources); each owned
kind is then shown only when the caller may ``list`` it in the owner's namespace
(cluster-wide for a cluster-scoped kind) — the same question ``kubectl get deployments``
would ask. A kind the caller may not list is named in ``hidden``, its objects are not:
saying that a kind is owned reveals only the model's declaration, which the CRD's
schema and RBAC manifests publish anyway. The dashboard's detail page shows the same.
"""

from typing import Annotated, Any

from fastapi import APIRouter

from kubeweft.auth.identity import Identity, ResourceAttributes
from kubeweft.rest.context import AppContext
from kubeweft.rest.dependencies import ContextDep, check_access
from kubeweft.rest.problems import Problem
from kubeweft.rest.routes.model import ModelRoutes
from kubeweft.rest.schemas import _Out
from kubeweft.views.owned import OwnedObject

__all__ = ["OwnedObjectRead", "OwnedRead", "add_owned_routes", "visible_owned"]


class OwnedObjectRead(_Out):
    kind: str
    api_version: str
    namespace: str | None
    name: str
    uid: str
    #: None: the object reports nothing kubeweft can read as ready or not.
    ready: bool | None
    summary: str


class OwnedRead(_Out):
    items: list[OwnedObjectRead]
    #: Owned kinds the caller may not list where the owner's children live.
    hidden: list[str]


async def visible_owned(
    ctx: AppContext, identity: Identity, obj: Any
) -> tuple[list[OwnedObject], list[str]]:
    """``obj``'s children of every kind the caller may list, and the kinds it may not
    (as ``plural.group``)."""
    if ctx.owned is None:
        return [], []
    found: list[OwnedObject] = []
    hidden: list[str] = []
    for kind in ctx.owned.kinds_of(type(obj)):
        namespace = obj.metadata.namespace if kind.namespaced else None
        try:
            await check_access(
                ctx, identity, ResourceAttributes("list", kind.group, kind.plural, namespace)
            )
        except Problem as refused:
            if refused.status != 403:
                raise
            hidden.append(str(kind))
            continue
        found.extend(await ctx.owned.of(obj, kind))
    return found, hidden


def add_owned_routes(router: APIRouter, routes: ModelRoutes) -> None:
    @router.get(
        f"{routes.item_path}/owned",
        response_model=OwnedRead,
        summary="Objects this one owns (of the kinds the caller may list), from the cache",
    )
    async def owned(
        identity: Annotated[Identity, routes.may("get")],
        obj: Annotated[Any, routes.loaded],
        ctx: ContextDep,
    ) -> OwnedRead:
        found, hidden = await visible_owned(ctx, identity, obj)
        return OwnedRead(items=[OwnedObjectRead.model_validate(o) for o in found], hidden=hidden)
