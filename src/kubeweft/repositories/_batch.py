"""``IN (...)`` lookups split into statements with a bounded number of parameters.

A database caps the bound parameters of one statement: SQLite built before 3.32 at 999
(32,766 since), PostgreSQL's protocol (and asyncpg) at 32,767. A lookup by the UIDs of
a list page — or of any caller's sequence — sends them ``IN_BATCH`` at a time, so no
page size, configured or requested, can reach either cap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["IN_BATCH", "batches"]

T = TypeVar("T")

IN_BATCH = 900  # under SQLite's oldest limit (999), leaving room for other parameters


def batches(values: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
