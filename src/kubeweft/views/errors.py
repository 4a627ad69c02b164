"""Failures of the join layer that a caller must tell apart.

The seed's rules: a missing Kubernetes object is a 404, a failing database is a 500,
and a resource with no database rows is *not* an error. A database that does not
answer in time is a 503 (``DatabaseTimeout``): the request may well succeed later.
``DatabaseUnavailable`` wraps whatever the driver raised so the REST layer can answer
without knowing SQLAlchemy, and without leaking the driver's message to the client.
"""

from __future__ import annotations

__all__ = ["DatabaseTimeout", "DatabaseUnavailable", "InvalidContinueToken", "ResourceNotFound"]


class DatabaseUnavailable(Exception):
    """The database could not be queried; the cause is chained (``raise ... from``)."""


class DatabaseTimeout(DatabaseUnavailable):
    """The database did not answer within the statement timeout (hung, locked, overloaded).

    Unlike a failing query this is likely to pass on retry, so the REST layer answers
    503 with ``Retry-After`` (``retry_after`` seconds) rather than 500.
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ResourceNotFound(Exception):
    """The Kubernetes object does not exist."""

    def __init__(self, plural: str, namespace: str | None, name: str) -> None:
        self.plural = plural
        self.namespace = namespace
        self.name = name
        where = f"{namespace}/{name}" if namespace else name
        super().__init__(f"{plural} {where} not found")


class InvalidContinueToken(ValueError):
    """A ``continue`` token that this server did not issue for this query."""
