"""Create-or-update of an owned object (``controllerutil.CreateOrUpdate``).

The reconciler says what it wants as a *mutate* function that sets the fields it owns
on the object; create-or-update reads the live object, runs the function on a copy of
it and writes only if that changed anything, so an unchanged world makes no write and
fields the API server or other tools set are kept. It also sets the controller
reference and the managed-by label, and never takes over an object this application
did not create (:func:`owners.check_ownership`).

The label lets a process cache only its own children (``runtime.cache`` with
``owned_label_selector``). A child missing from such a cache — someone else's object
of that name, or ours with the label removed by hand — makes the create fail with
AlreadyExists; the object is then read from the API server (the client's
``api_reader``) and handled as if the cache had held it: refused if not ours,
relabelled if ours.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import msgspec
from pydantic import BaseModel

from kubeweft.controllerutil import owners
from kubeweft.controllerutil.client import Client
from kubeweft.runtime import errors, objects
from kubeweft.runtime.objects import K

__all__ = ["OperationResult", "create_or_update"]


class OperationResult(StrEnum):
    """What :func:`create_or_update` did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


async def create_or_update(
    client: Client,
    obj: K,
    mutate: Callable[[K], None],
    *,
    owner: object,
    managed_by: str = owners.MANAGED_BY,
) -> OperationResult:
    """Make the object named by ``obj`` look as ``mutate`` says, controlled by ``owner``.

    ``obj`` needs only its name (and namespace). If no such object exists, ``mutate``
    fills in ``obj`` and it is created; otherwise ``obj`` takes the live state,
    ``mutate`` edits it, and it is updated (conditionally, on the live
    resourceVersion) only if it now differs. Either way ``obj`` ends as the server's
    answer (or the live object when unchanged). Raises :class:`owners.NotOwnedError`,
    before ``mutate`` runs, if the live object is controlled by another owner, or by
    none and lacks ``app.kubernetes.io/managed-by: <managed_by>``.
    """
    kind = type(obj)
    key = objects.object_key(obj)
    try:
        live = await client.get(kind, key.name, key.namespace)
    except errors.NotFound:
        mutate(obj)
        _own(obj, owner, managed_by, key)
        try:
            _assign(obj, await client.create(obj))
            return OperationResult.CREATED
        except errors.AlreadyExists as exists:
            # Not in the cache but on the server: our own create not yet observed, or
            # an object the cache does not hold (it is scoped to the managed-by label).
            # Ask the server, so a stranger's object is reported as not ours.
            api_reader = getattr(client, "api_reader", None)
            if api_reader is None:
                raise
            try:
                live = await api_reader.get(kind, key.name, key.namespace)
            except errors.NotFound:
                raise exists from None  # gone again meanwhile: the caller retries
    owners.check_ownership(owner, live, managed_by=managed_by)
    _assign(obj, objects.deep_copy(live))
    mutate(obj)
    _own(obj, owner, managed_by, key)
    if objects.to_dict(obj) == objects.to_dict(live):
        return OperationResult.UNCHANGED
    _assign(obj, await client.update(obj))
    return OperationResult.UPDATED


def _own(obj: Any, owner: object, managed_by: str, key: objects.ObjectKey) -> None:
    if objects.object_key(obj) != key:
        raise ValueError(f"mutate must not change the object's name or namespace ({key})")
    owners.set_controller_reference(owner, obj)
    obj.metadata.labels = {**(obj.metadata.labels or {}), owners.MANAGED_BY_LABEL: managed_by}


def _assign(target: Any, source: Any) -> None:
    """Give ``target`` every field of ``source`` (the caller's ``obj`` is updated in place)."""
    if isinstance(target, msgspec.Struct):
        names: tuple[str, ...] = target.__struct_fields__
    elif isinstance(target, BaseModel):
        names = tuple(type(target).model_fields)
    else:  # pragma: no cover - objects.kind_info already refused other types
        raise TypeError(f"cannot assign to {type(target).__name__}")
    for name in names:
        setattr(target, name, getattr(source, name))
