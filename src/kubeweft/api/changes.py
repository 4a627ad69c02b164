"""Who changed a model's spec, carried on the object itself.

The reconciler must never read the database to decide anything (SPEC §1), yet the
deployment-history row it writes should name the person who made the change. The REST
layer therefore stamps the object, in the same write that changes the spec, with the
annotation ``kubeweft.dev/last-changed-by`` = ``{"user": ..., "specHash": ...}``. The
reconciler attributes a generation to that user only when the hash matches the spec
it is looking at, so a later ``kubectl edit`` (which leaves the stale annotation in
place) is attributed to nobody rather than to the wrong person.

A rollback (``POST .../rollback``) adds ``"rolledBackTo": N`` to the same stamp, so the
history row of the generation it creates says which generation's spec came back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHANGED_BY_ANNOTATION = "kubeweft.dev/last-changed-by"


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A stable digest of a spec in its wire form (camelCase keys, defaults applied)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Change:
    """Who made a spec change through kubeweft, and the generation it rolled back to."""

    user: str
    rolled_back_to: int | None = None


def changed_by_value(
    user: str, spec: Mapping[str, Any], *, rolled_back_to: int | None = None
) -> str:
    stamp: dict[str, Any] = {"user": user, "specHash": spec_hash(spec)}
    if rolled_back_to is not None:
        stamp["rolledBackTo"] = rolled_back_to
    return json.dumps(stamp, separators=(",", ":"))


def change_of(annotations: Mapping[str, str] | None, spec: Mapping[str, Any]) -> Change | None:
    """The change that last set ``spec`` through kubeweft, or None if unknown."""
    raw = (annotations or {}).get(CHANGED_BY_ANNOTATION)
    if not raw:
        return None
    try:
        stamp = json.loads(raw)
    except (ValueError, RecursionError):  # anyone who may edit the object wrote it
        return None
    if not isinstance(stamp, dict) or stamp.get("specHash") != spec_hash(spec):
        return None
    user = stamp.get("user")
    if not isinstance(user, str) or not user:
        return None
    target = stamp.get("rolledBackTo")
    valid = isinstance(target, int) and not isinstance(target, bool) and target >= 1
    return Change(user, target if valid else None)


def changed_by(annotations: Mapping[str, str] | None, spec: Mapping[str, Any]) -> str | None:
    """The user who last changed ``spec`` through kubeweft, or None if unknown."""
    change = change_of(annotations, spec)
    return change.user if change is not None else None
