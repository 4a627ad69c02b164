"""The tables, as SQLAlchemy 2 typed declarative classes.

These are storage shapes, deliberately separate from the REST schemas. Every row that
belongs to a Kubernetes resource carries its UID (the join key, immutable for the
object's life) plus namespace/name/kind, kept for humans and for rows that outlive the
resource. All timestamps are aware UTC (``UTCDateTime``).

Constraint and index names follow one naming convention so migrations can refer to
them by name on every database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kubeweft.db.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Limits shared with the repositories' validation.
UID_LENGTH = 36
NAME_LENGTH = 253
KIND_LENGTH = 63
# Who did it (a Kubernetes username: a service account's is up to ~340 characters, an
# OIDC one issuer + "#" + subject): stored whole in TEXT columns, never cut or dropped.
# The REST layer refuses identities longer than this at authentication, so every actor
# it can record fits (and stays well inside PostgreSQL's B-tree entry limit).
ACTOR_LENGTH = 1024
METRIC_NAME_LENGTH = 63
ANNOTATION_BODY_MAX = 10_000

HISTORY_SOURCES = ("api", "reconciler")
RECONCILE_OUTCOMES = ("success", "requeue", "error")

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class ChangeHistory(Base):
    """One row per generation of a resource, of any model; exactly once per (uid, generation).

    ``spec`` is the spec of that generation (its wire form, camelCase), ``patch`` the
    RFC 6902 diff from the previous stored generation's spec to it (None for the first).
    """

    __tablename__ = "change_history"
    __table_args__ = (
        UniqueConstraint("uid", "generation"),
        CheckConstraint(_one_of("source", HISTORY_SOURCES), name="source"),
        Index(None, "actor", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    generation: Mapped[int] = mapped_column(BigInteger)
    spec: Mapped[dict[str, Any]]
    patch: Mapped[list[Any] | None] = mapped_column(JSON)
    # The REST layer's user (carried on the object, see kubeweft.api.changes), or None.
    actor: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The generation whose spec a rollback wrote back (``POST .../rollback``), else None.
    rolled_back_to: Mapped[int | None] = mapped_column(BigInteger)


class ReconcileLog(Base):
    """Each reconcile attempt: outcome, duration, what it did, and why it failed."""

    __tablename__ = "reconcile_log"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", RECONCILE_OUTCOMES), name="outcome"),
        Index(None, "uid", "started_at"),
        Index(None, "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    started_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    actions: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    generation: Mapped[int | None] = mapped_column(BigInteger)
    resource_version: Mapped[str | None] = mapped_column(String(64))


class MetricSampleRow(Base):
    """The raw time series: (uid, name, ts, value). Pruned by the retention job."""

    __tablename__ = "metric_samples"
    __table_args__ = (
        # Serves series and aggregates per (uid, name) over a time range.
        Index(None, "uid", "name", "ts"),
        # Serves retention (delete everything older than a cut-off).
        Index(None, "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    name: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)


class MetricLatest(Base):
    """The newest sample per (uid, name), upserted with every sample write.

    "Latest metrics for N resources" is the hot read of every list page; answering it
    from the raw series means a scan per UID however good the index. This table makes
    it a primary-key lookup of N x names rows, at the cost of one upsert per write.
    """

    __tablename__ = "metric_latest"

    uid: Mapped[str] = mapped_column(String(UID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(METRIC_NAME_LENGTH), primary_key=True)
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)


class Annotation(Base):
    """A note a person attached to a resource (database only, SPEC §6)."""

    __tablename__ = "annotations"
    __table_args__ = (
        CheckConstraint(f"length(body) <= {ANNOTATION_BODY_MAX}", name="body_length"),
        Index(None, "uid", "created_at"),
        Index(None, "author", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    author: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]


class ApiAudit(Base):
    """Who did what through the REST API, and how it ended."""

    __tablename__ = "api_audit"
    __table_args__ = (
        Index(None, "ts"),
        Index(None, "actor", "ts"),
        Index(None, "target_uid", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(Text)
    verb: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(KIND_LENGTH))
    target_namespace: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    target_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    target_uid: Mapped[str | None] = mapped_column(String(UID_LENGTH))
    outcome: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(64))


class ApiKey(Base):
    """An API key: the id (also the token's visible prefix) in clear, the secret hashed."""

    __tablename__ = "api_keys"
    __table_args__ = (Index(None, "user"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    user: Mapped[str] = mapped_column(Text)
    groups: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
