"""What repositories raise: a ``RepositoryError`` that callers can map to a response.

``ValidationError`` names the offending field so the REST layer can return a 422 with
field errors; ``NotFoundError`` maps to 404. Both are raised before any SQL is sent,
so a rejected call writes nothing.
"""

from __future__ import annotations


class RepositoryError(Exception):
    """Base of every error a repository raises on purpose."""


class ValidationError(RepositoryError, ValueError):
    """An argument was refused; ``field`` names it, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(RepositoryError, LookupError):
    """The row asked for does not exist (or does not belong to the given resource)."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key
