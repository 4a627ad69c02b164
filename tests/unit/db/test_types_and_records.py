"""UTCDateTime and the record types, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord
from kubeweft.db.types import UTCDateTime, utcnow
from kubeweft.db.writer import RecordWriter

PARIS = timezone(timedelta(hours=1))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


def test_aware_values_are_stored_as_utc_and_read_back_aware() -> None:
    local = datetime(2026, 1, 1, 13, 0, tzinfo=PARIS)
    stored = UTCDateTime().process_bind_param(local, sqlite.dialect())
    assert stored == datetime(2026, 1, 1, 12, 0)  # SQLite keeps the UTC wall time
    back = UTCDateTime().process_result_value(stored, sqlite.dialect())
    assert back == local
    assert back is not None
    assert back.tzinfo == UTC
    pg = UTCDateTime().process_bind_param(local, postgresql.dialect())  # type: ignore[no-untyped-call]
    assert pg is not None
    assert pg.tzinfo == UTC


def test_records_are_checked_where_they_are_built() -> None:
    with pytest.raises(ValueError, match="outcome"):
        ReconcileRecord("u", "ns", "n", "WebApp", utcnow(), 0.1, "maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="source"):
        HistoryRecord("u", "ns", "n", "WebApp", 1, {}, source="kubectl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        MetricSample("u", "ready_replicas", 1.0, datetime(2026, 1, 1))


def test_submit_is_synchronous_and_bounded_without_a_database() -> None:
    """``submit`` never touches the database: it works with nothing to write to at all."""
    writer = RecordWriter(None, buffer_size=2)  # type: ignore[arg-type]
    for i in range(5):
        writer.submit(MetricSample("u", "ready_replicas", float(i)))
    assert writer.pending == 2
    assert writer.dropped == 3
