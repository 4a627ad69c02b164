"""Argument checks shared by the repositories (raise ``ValidationError`` naming the field).

A Kubernetes UID is an RFC 4122 UUID in its canonical 36-character form; anything else
cannot be a resource's join key. Whether the resource *exists* is the cluster's
question, asked by the caller (the REST layer), never by a repository.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from kubeweft.repositories.errors import ValidationError


def uid(value: str, field: str = "uid") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty Kubernetes UID")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a Kubernetes UID (a UUID)") from None
    if str(parsed) != value.lower():
        raise ValidationError(field, f"{value!r} is not a UID in canonical form")
    return value.lower()


def uids(values: Iterable[str], field: str = "uids") -> list[str]:
    return list(dict.fromkeys(uid(v, field) for v in values))


def text(value: str | None, field: str, *, max_length: int, allow_empty: bool = False) -> str:
    if value is None or not isinstance(value, str):
        raise ValidationError(field, "is required")
    if not allow_empty and not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationError(field, f"is {len(value)} characters long; the limit is {max_length}")
    return value


def optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    if value is None:
        return None
    return text(value, field, max_length=max_length)


def aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "must be a time-zone-aware datetime")
    return value


def positive(value: int, field: str) -> int:
    if value < 1:
        raise ValidationError(field, "must be at least 1")
    return value
