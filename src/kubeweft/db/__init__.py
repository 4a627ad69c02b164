"""The database: async SQLAlchemy engine and sessions, tables, migrations, and the
buffered writer through which the reconciler records side effects. SQLite is the
embedded default; PostgreSQL is used when ``DATABASE_URL`` says so.

Migrations: ``from kubeweft.db.migrate import migrate`` (the module ``kubeweft.db.migrate``
holds ``migrate``, ``downgrade``, ``current_revision`` and ``head_revision``).
"""

from kubeweft.db.engine import Database, create_engine, session_factory
from kubeweft.db.records import HistoryRecord, MetricSample, ReconcileRecord, Record
from kubeweft.db.types import UTCDateTime, utcnow
from kubeweft.db.writer import RecordWriter

__all__ = [
    "Database",
    "HistoryRecord",
    "MetricSample",
    "ReconcileRecord",
    "Record",
    "RecordWriter",
    "UTCDateTime",
    "create_engine",
    "session_factory",
    "utcnow",
]
