"""Who changed a model's spec, carried on the object itself.

The reconciler must never read the database to decide anything (SPEC §1), yet the
deployment-history row it writes should name the person who made the change. The REST
layer therefore stamps the object, in the same write that changes the spec, with the
annotation ``kubeweft.dev/last-changed-by`` = ``{"user": ..., "specHash": ...}``. The
reconciler attributes a generation to that user only when the hash matches the spec
it is looking at, so a later ``kubectl edit`` (which leaves the stale annotation in
place) is attributed to nobody rather than to the wrong person.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

CHANGED_BY_ANNOTATION = "kubeweft.dev/last-changed-by"


def spec_hash(spec: Mapping[str, Any]) -> str:
    """A stable digest of a spec in its wire form (camelCase keys, defaults applied)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def changed_by_value(user: str, spec: Mapping[str, Any]) -> str:
    return json.dumps({"user": user, "specHash": spec_hash(spec)}, separators=(",", ":"))


def changed_by(annotations: Mapping[str, str] | None, spec: Mapping[str, Any]) -> str | None:
    """The user who last changed ``spec`` through kubeweft, or None if unknown."""
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
    return user if isinstance(user, str) and user else None
