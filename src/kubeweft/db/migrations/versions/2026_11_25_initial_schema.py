"""Initial schema: history, reconcile log, metric samples, annotations, audit, API keys.

Revision ID: 6f1d2c9a0b3e
Revises:
Create Date: 2026-11-25 04:20:57.541850
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# BIGINT ids on PostgreSQL; SQLite auto-increments only an INTEGER PRIMARY KEY.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "6f1d2c9a0b3e"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length(body) <= 10000", name=op.f("ck_annotations_body_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
    )
    op.create_index(
        op.f("ix_annotations_author_created_at"), "annotations", ["author", "created_at"]
    )
    op.create_index(op.f("ix_annotations_uid_created_at"), "annotations", ["uid", "created_at"])

    op.create_table(
        "api_audit",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("verb", sa.String(length=32), nullable=False),
        sa.Column("target_kind", sa.String(length=63), nullable=False),
        sa.Column("target_namespace", sa.String(length=253), nullable=True),
        sa.Column("target_name", sa.String(length=253), nullable=True),
        sa.Column("target_uid", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_audit")),
    )
    op.create_index(op.f("ix_api_audit_actor_ts"), "api_audit", ["actor", "ts"])
    op.create_index(op.f("ix_api_audit_target_uid_ts"), "api_audit", ["target_uid", "ts"])
    op.create_index(op.f("ix_api_audit_ts"), "api_audit", ["ts"])

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_user"), "api_keys", ["user"])

    op.create_table(
        "deployment_history",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("image", sa.Text(), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("previous_image", sa.Text(), nullable=True),
        sa.Column("previous_replicas", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('api', 'reconciler')", name=op.f("ck_deployment_history_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_history")),
        sa.UniqueConstraint("uid", "generation", name=op.f("uq_deployment_history_uid_generation")),
    )
    op.create_index(
        op.f("ix_deployment_history_actor_created_at"),
        "deployment_history",
        ["actor", "created_at"],
    )
    op.create_index(op.f("ix_deployment_history_created_at"), "deployment_history", ["created_at"])

    op.create_table(
        "metric_latest",
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("uid", "name", name=op.f("pk_metric_latest")),
    )
    op.create_table(
        "metric_samples",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_samples")),
    )
    op.create_index(op.f("ix_metric_samples_ts"), "metric_samples", ["ts"])
    op.create_index(op.f("ix_metric_samples_uid_name_ts"), "metric_samples", ["uid", "name", "ts"])

    op.create_table(
        "reconcile_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("namespace", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=True),
        sa.Column("resource_version", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('success', 'requeue', 'error')", name=op.f("ck_reconcile_log_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_log")),
    )
    op.create_index(op.f("ix_reconcile_log_started_at"), "reconcile_log", ["started_at"])
    op.create_index(op.f("ix_reconcile_log_uid_started_at"), "reconcile_log", ["uid", "started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reconcile_log_uid_started_at"), table_name="reconcile_log")
    op.drop_index(op.f("ix_reconcile_log_started_at"), table_name="reconcile_log")

    op.drop_table("reconcile_log")
    op.drop_index(op.f("ix_metric_samples_uid_name_ts"), table_name="metric_samples")
    op.drop_index(op.f("ix_metric_samples_ts"), table_name="metric_samples")

    op.drop_table("metric_samples")
    op.drop_table("metric_latest")
    op.drop_index(op.f("ix_deployment_history_created_at"), table_name="deployment_history")
    op.drop_index(op.f("ix_deployment_history_actor_created_at"), table_name="deployment_history")

    op.drop_table("deployment_history")
    op.drop_index(op.f("ix_api_keys_user"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_index(op.f("ix_api_audit_ts"), table_name="api_audit")
    op.drop_index(op.f("ix_api_audit_target_uid_ts"), table_name="api_audit")
    op.drop_index(op.f("ix_api_audit_actor_ts"), table_name="api_audit")

    op.drop_table("api_audit")
    op.drop_index(op.f("ix_annotations_uid_created_at"), table_name="annotations")
    op.drop_index(op.f("ix_annotations_author_created_at"), table_name="annotations")

    op.drop_table("annotations")
