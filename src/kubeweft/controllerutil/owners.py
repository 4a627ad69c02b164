"""Controller references and the managed-by label: which objects a controller may write.

An ownerReference with ``controller: true`` names the one object that manages another,
and Kubernetes' garbage collector deletes the dependent together with it. Setting one
on an object somebody else created is therefore a takeover: our reconciler rewrites it
and deleting our object deletes theirs. So a controller adopts only what it created —
objects it already controls, and, as controller-runtime does for its own orphans,
objects carrying its ``app.kubernetes.io/managed-by`` label but no controller (left by
``kubectl delete --cascade=orphan``). Anything else is refused, naming who controls it.
"""

from __future__ import annotations

from typing import Any

from kubeweft import api
from kubeweft.runtime import objects

__all__ = [
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "AlreadyOwnedError",
    "NotOwnedError",
    "OwnershipError",
    "check_ownership",
    "set_controller_reference",
]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
#: The label's value on everything kubeweft creates.
MANAGED_BY = "kubeweft"


class OwnershipError(Exception):
    """An object is not ours to write; ``owner`` is its controller reference (or None)."""

    def __init__(self, obj: object, owner: Any | None, why: str) -> None:
        meta = _meta(obj)
        self.kind = objects.kind_info(type(obj)).kind
        self.name: str = meta.name or ""
        self.namespace: str | None = meta.namespace
        self.owner = owner
        super().__init__(f"{self.kind} {objects.object_key(obj)} {why}")


class NotOwnedError(OwnershipError):
    """An object of the wanted name exists and this controller did not create it."""


class AlreadyOwnedError(OwnershipError):
    """The object already has another controller (``controllerutil.AlreadyOwnedError``)."""


def _describe(owner: Any) -> str:
    return f"{owner.kind} {owner.name} (uid {owner.uid})"


def check_ownership(owner: object, obj: object, *, managed_by: str = MANAGED_BY) -> None:
    """Raise :class:`NotOwnedError` unless ``owner`` controls ``obj``, or nothing controls
    it and it carries ``app.kubernetes.io/managed-by: <managed_by>``."""
    current = objects.controller_owner(obj)
    if current is None:
        if (_meta(obj).labels or {}).get(MANAGED_BY_LABEL) != managed_by:
            raise NotOwnedError(
                obj,
                None,
                f"exists and was not created by {managed_by}: it has no controller "
                f"and no {MANAGED_BY_LABEL}={managed_by} label",
            )
    elif current.uid != _meta(owner).uid:
        raise NotOwnedError(obj, current, f"is controlled by {_describe(current)}")


def set_controller_reference(owner: object, obj: object) -> None:
    """Make ``owner`` the controller of ``obj`` (``controllerutil.SetControllerReference``).

    A reference to the same owner is replaced where it stands, so setting it twice
    changes nothing; an object with another controller raises :class:`AlreadyOwnedError`.
    """
    ref: Any = objects.owner_reference(owner, controller=True)
    current = objects.controller_owner(obj)
    if current is not None and current.uid != ref.uid:
        raise AlreadyOwnedError(obj, current, f"is controlled by {_describe(current)}")
    meta = _meta(obj)
    if isinstance(meta, api.ObjectMeta):
        ref = api.OwnerReference(
            apiVersion=ref.apiVersion,
            kind=ref.kind,
            name=ref.name,
            uid=ref.uid,
            controller=ref.controller,
            blockOwnerDeletion=ref.blockOwnerDeletion,
        )
    refs = list(meta.ownerReferences or [])
    index = next((i for i, r in enumerate(refs) if r.uid == ref.uid), None)
    if index is None:
        refs.append(ref)
    else:
        refs[index] = ref
    meta.ownerReferences = refs


def _meta(obj: object) -> Any:
    meta = getattr(obj, "metadata", None)
    if meta is None:
        raise ValueError(f"{type(obj).__name__} has no metadata")
    return meta
